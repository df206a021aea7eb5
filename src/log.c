/*
 * log: the error log.  Lines go to stderr (foreground, -N) or syslog(3),
 * filtered by a syslog level.  Never translated: admins grep them.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static bool log_to_stderr = true;
static bool log_to_journal; /* stderr is systemd's journal stream */
static int  log_level = LOG_WARNING;

static const char *const level_names[] = {
	"emerg", "alert", "crit", "error", "warning", "notice", "info", "debug",
};

/*
 * systemd sets JOURNAL_STREAM to "DEVICE:INODE" of the stream it connects
 * to stderr (systemd.exec(5)); it stamps each line with time and process
 * itself, and reads a "<N>" prefix as the syslog level (sd-daemon(3)).
 */
static bool
stderr_is_journal(void)
{
	const char        *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat        st;

	return env != NULL && sscanf(env, "%llu:%llu", &dev, &ino) == 2 &&
	       fstat(STDERR_FILENO, &st) == 0 &&
	       (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}

void
log_init(const char *ident, bool to_stderr, int max_level)
{
	log_to_stderr = to_stderr;
	log_to_journal = to_stderr && stderr_is_journal();
	log_level = max_level;
	if (!to_stderr)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_set_level(int max_level)
{
	log_level = max_level;
}

bool
log_enabled(int level)
{
	return level <= log_level;
}

void
log_vmsg(int level, const char *fmt, va_list ap)
{
	char            line[2048];
	char            stamp[32];
	struct timespec ts;
	struct tm       tm;

	if (!log_enabled(level))
		return;
	vsnprintf(line, sizeof(line), fmt, ap); /* truncation is acceptable */
	if (!log_to_stderr) {
		syslog(level, "%s", line);
		return;
	}
	if (log_to_journal) {
		fprintf(stderr, "<%d>%s\n", level & 7, line);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y/%m/%d %H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ld bascule[%ld] %s: %s\n", stamp,
	        ts.tv_nsec / 1000000, (long)getpid(), level_names[level & 7],
	        line);
}

void
log_msg(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_ERR, fmt, ap);
	va_end(ap);
	exit(1);
}

static size_t
escaped_len(unsigned char ch)
{
	return ch < 0x20 || ch >= 0x7f || ch == '"' || ch == '\\' ? 4 : 1;
}

char *
log_escape(const char *s, size_t len, char *out, size_t outsz)
{
	static const char hex[] = "0123456789abcdef";
	size_t            total = 0, limit, o = 0;
	bool              cut;

	if (outsz == 0)
		return out;
	for (size_t i = 0; i < len; i++)
		total += escaped_len((unsigned char)s[i]);
	cut = total > outsz - 1;
	limit = outsz - 1;
	if (cut)
		limit = limit > 3 ? limit - 3 : 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (escaped_len(ch) > limit - o)
			break;
		if (escaped_len(ch) == 1) {
			out[o++] = (char)ch;
			continue;
		}
		out[o++] = '\\';
		out[o++] = 'x';
		out[o++] = hex[ch >> 4];
		out[o++] = hex[ch & 15];
	}
	if (cut && outsz - 1 - o >= 3) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}
