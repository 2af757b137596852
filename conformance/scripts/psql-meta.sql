-- psql meta-commands, which run catalog queries (what GUI tools and DBAs
-- send): list tables, schemas, databases, functions. Cleans up after
-- itself. (\d TABLE is left out: psql sends the table's OID back as a
-- literal, which differs on any other server.)
CREATE TABLE conf_meta (id int PRIMARY KEY, note text);
\dt
\dn
\l
\df conf_*
DROP TABLE conf_meta;
