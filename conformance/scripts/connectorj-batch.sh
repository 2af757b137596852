#!/bin/sh
# ConnectorJBatch.java (rewriteBatchedStatements=true) with MariaDB
# Connector/J, MYSQL_* environment.
set -eu
here=$(dirname "$0")
exec java -cp /usr/share/java/mariadb-java-client.jar "$here/ConnectorJBatch.java"
