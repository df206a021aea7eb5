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

#endif /* BASCULE_PARSE_H */
