// libpq, the PostgreSQL C client (Debian's libpq-dev).
#include <libpq-fe.h>

// The PG_DIAG_* field codes are character-literal macros ('C'), which Swift does not import: named ints.
static const int edmo_pg_diag_sqlstate = PG_DIAG_SQLSTATE;
static const int edmo_pg_diag_message_primary = PG_DIAG_MESSAGE_PRIMARY;
static const int edmo_pg_diag_constraint_name = PG_DIAG_CONSTRAINT_NAME;

// A notice processor that drops NOTICE/WARNING text instead of printing it on stderr (libpq's default),
// e.g. "relation already exists, skipping" from CREATE ... IF NOT EXISTS.
static void edmo_pq_ignore_notice(void *arg, const char *message) { (void)arg; (void)message; }
static inline void edmo_pq_silence_notices(PGconn *conn) {
    PQsetNoticeProcessor(conn, edmo_pq_ignore_notice, NULL);
}
