// What an IDE such as DBeaver sends at connect through JDBC
// DatabaseMetaData: product and version, catalogs, schemas, getTables,
// getColumns, getPrimaryKeys, getIndexInfo, getImportedKeys, on a table
// the program creates and drops. With MYSQL_HOST set it connects with
// MariaDB Connector/J (MYSQL_* environment), else with pgjdbc (PG*).
// Run as a single-file program: java -cp DRIVER.jar JdbcMetadata.java
import java.sql.*;

public class JdbcMetadata {
    public static void main(String[] args) throws Exception {
        var env = System.getenv();
        boolean my = env.get("MYSQL_HOST") != null;
        String url = my
            ? "jdbc:mariadb://" + env.get("MYSQL_HOST") + ":" + env.get("MYSQL_PORT") + "/" + env.get("MYSQL_DATABASE")
            : "jdbc:postgresql://" + env.get("PGHOST") + ":" + env.get("PGPORT") + "/" + env.get("PGDATABASE") + "?sslmode=disable";
        String user = my ? env.get("MYSQL_USER") : env.get("PGUSER");
        String password = my ? env.get("MYSQL_PASSWORD") : env.get("PGPASSWORD");
        String table = my ? "t_order" : "orders";
        try (Connection c = DriverManager.getConnection(url, user, password)) {
            try (Statement s = c.createStatement()) {
                s.execute("CREATE TABLE " + table + " (order_id BIGINT NOT NULL PRIMARY KEY, user_id INT NOT NULL, "
                    + "status VARCHAR(20), amount DECIMAL(10,2))");
                s.execute("CREATE INDEX " + table + "_by_user ON " + table + " (user_id)");
            }
            DatabaseMetaData md = c.getMetaData();
            System.out.println(md.getDatabaseProductName() + " " + md.getDatabaseMajorVersion());
            print("catalogs", md.getCatalogs());
            print("schemas", md.getSchemas());
            print("tables", md.getTables(null, null, "%", new String[] {"TABLE"}));
            print("columns", md.getColumns(null, null, table, "%"));
            print("primary keys", md.getPrimaryKeys(null, null, table));
            print("indexes", md.getIndexInfo(null, null, table, false, true));
            print("imported keys", md.getImportedKeys(null, null, table));
            try (Statement s = c.createStatement()) {
                s.execute("DROP TABLE " + table);
            }
        }
    }

    static void print(String what, ResultSet rs) throws SQLException {
        int n = 0;
        while (rs.next()) {
            n++;
        }
        rs.close();
        System.out.println(what + ": " + n);
    }
}
