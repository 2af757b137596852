#!/bin/sh
# JdbcMetadata.java with pgjdbc (Debian's libpostgresql-jdbc-java), PG*
# environment.
set -eu
here=$(dirname "$0")
exec java -cp /usr/share/java/postgresql.jar "$here/JdbcMetadata.java"
