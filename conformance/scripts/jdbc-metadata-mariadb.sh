#!/bin/sh
# JdbcMetadata.java with MariaDB Connector/J (Debian's libmariadb-java),
# MYSQL_* environment.
set -eu
here=$(dirname "$0")
exec java -cp /usr/share/java/mariadb-java-client.jar "$here/JdbcMetadata.java"
