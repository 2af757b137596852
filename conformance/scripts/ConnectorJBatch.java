// MariaDB Connector/J 2.7 with rewriteBatchedStatements=true: a
// PreparedStatement batch of INSERTs sent as one multi-row INSERT, a batch
// of UPDATEs as one multi-statement COM_QUERY, and a batch with a duplicate
// key (BatchUpdateException, 1062). Table t_order. MYSQL_* environment.
// Run as a single-file program: java -cp mariadb-java-client.jar ConnectorJBatch.java
import java.math.BigDecimal;
import java.sql.*;

public class ConnectorJBatch {
    public static void main(String[] args) throws Exception {
        var env = System.getenv();
        String url = "jdbc:mariadb://" + env.get("MYSQL_HOST") + ":" + env.get("MYSQL_PORT") + "/"
            + env.get("MYSQL_DATABASE") + "?rewriteBatchedStatements=true";
        try (Connection c = DriverManager.getConnection(url, env.get("MYSQL_USER"), env.get("MYSQL_PASSWORD"))) {
            try (Statement s = c.createStatement()) {
                s.execute("CREATE TABLE t_order (order_id BIGINT NOT NULL PRIMARY KEY, user_id INT NOT NULL, "
                    + "amount DECIMAL(10,2), status VARCHAR(20))");
            }
            try (PreparedStatement p = c.prepareStatement(
                    "INSERT INTO t_order (order_id, user_id, amount, status) VALUES (?, ?, ?, ?)")) {
                for (int i = 1; i <= 8; i++) {
                    p.setLong(1, i);
                    p.setInt(2, i % 4 + 1);
                    p.setBigDecimal(3, new BigDecimal(i + ".50"));
                    p.setString(4, i % 2 == 0 ? "paid" : "new");
                    p.addBatch();
                }
                int[] counts = p.executeBatch();
                System.out.println("inserted " + counts.length);
            }
            try (PreparedStatement p = c.prepareStatement("UPDATE t_order SET status = ? WHERE order_id = ?")) {
                for (int i = 1; i <= 4; i++) {
                    p.setString(1, "shipped");
                    p.setLong(2, i);
                    p.addBatch();
                }
                p.executeBatch();
            }
            try (PreparedStatement p = c.prepareStatement(
                    "INSERT INTO t_order (order_id, user_id, amount, status) VALUES (?, ?, ?, ?)")) {
                // Order 1 exists with user 2 (1 % 4 + 1): the same user, so
                // the duplicate is on the same shard when sharded too.
                for (long id : new long[] {20, 1, 21}) {
                    p.setLong(1, id);
                    p.setInt(2, 2);
                    p.setBigDecimal(3, BigDecimal.ONE);
                    p.setString(4, "dup");
                    p.addBatch();
                }
                p.executeBatch();
            } catch (BatchUpdateException e) {
                System.out.println("duplicate in batch: " + e.getErrorCode());
            }
            try (Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("SELECT status, COUNT(*) FROM t_order GROUP BY status ORDER BY status")) {
                while (rs.next()) {
                    System.out.println(rs.getString(1) + " " + rs.getInt(2));
                }
                s.execute("DROP TABLE t_order");
            }
        }
    }
}
