/*
 * parse: the result shared by bascule's pure parsers of network input
 * (http_parse, tls_peek, proxy_proto).  None of them does I/O, allocates or
 * logs; each says whether its input is complete, incomplete or malformed.
 */
#ifndef BASCULE_PARSE_H
#define BASCULE_PARSE_H

enum parse_result {
	PARSE_OK = 0, /* complete */
	PARSE_AGAIN,  /* need more input */
	PARSE_ERROR,  /* malformed: *why says what */
};

/* PARSE_ERROR, with *why (when why is not NULL) set to msg. */
static inline enum parse_result
parse_fail(const char **why, const char *msg)
{
	if (why != NULL)
		*why = msg;
	return PARSE_ERROR;
}

#endif /* BASCULE_PARSE_H */
