// MariaDB Connector/J (Debian's libmariadb-java) through Shardwire: the
// MySQL driver scenario with server-side prepared statements when
// SW_SERVER_PREP_STMTS is true and client-side ones (text protocol) when it
// is false (the driver's useServerPrepStmts), getGeneratedKeys, setAutoCommit(false)
// transactions across shards, and an error then recovery. Run as a
// single-file program:
//   java -cp /usr/share/java/mariadb-java-client.jar Scenario.java
// Where to connect comes from SW_HOST, SW_PORT, SW_USER, SW_PASSWORD,
// SW_DATABASE; SW_SERVER_PREP_STMTS must be true or false.

import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

public class Scenario {
    static String current = "start";

    public static void main(String[] args) {
        try {
            run();
            System.out.println("scenario passed");
        } catch (Exception e) {
            System.out.println("FAIL in step '" + current + "': " + e);
            System.exit(1);
        }
    }

    static void step(String name) {
        current = name;
        System.out.println(name);
    }

    static void check(String what, Object got, Object want) {
        if (!got.equals(want)) {
            System.out.println("FAIL in step '" + current + "': " + what + ": expected " + want + ", got " + got);
            System.exit(1);
        }
    }

    static Connection connect() throws SQLException {
        String serverPrep = System.getenv("SW_SERVER_PREP_STMTS");
        if (!"true".equals(serverPrep) && !"false".equals(serverPrep)) {
            throw new IllegalArgumentException("SW_SERVER_PREP_STMTS must be true or false, not " + serverPrep);
        }
        String url = "jdbc:mariadb://" + System.getenv("SW_HOST") + ":" + System.getenv("SW_PORT") + "/"
            + System.getenv("SW_DATABASE") + "?useServerPrepStmts=" + serverPrep;
        return DriverManager.getConnection(url, System.getenv("SW_USER"), System.getenv("SW_PASSWORD"));
    }

    static List<String> column(Connection c, String sql, Object... params) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < params.length; i++) ps.setObject(i + 1, params[i]);
            List<String> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    StringBuilder row = new StringBuilder();
                    for (int i = 1; i <= rs.getMetaData().getColumnCount(); i++) {
                        if (i > 1) row.append('|');
                        row.append(rs.getString(i));
                    }
                    out.add(row.toString());
                }
            }
            return out;
        }
    }

    static void run() throws Exception {
        try (Connection c = connect()) {
            step("DDL fan-out");
            try (Statement st = c.createStatement()) {
                // Through a passthrough database (SW_DIRECT=1) no proxy generates keys.
                String key = "1".equals(System.getenv("SW_DIRECT")) ? "AUTO_INCREMENT " : "";
                st.execute("CREATE TABLE t_order (order_id BIGINT NOT NULL " + key + "PRIMARY KEY, user_id INT NOT NULL, "
                    + "amount DECIMAL(10,2), status VARCHAR(20))");
                st.execute("CREATE TABLE t_region (id INT NOT NULL PRIMARY KEY, name VARCHAR(20))");
            }

            step("generated key");
            long generated;
            try (PreparedStatement ps = c.prepareStatement(
                    "INSERT INTO t_order (user_id, amount, status) VALUES (?, ?, ?)", Statement.RETURN_GENERATED_KEYS)) {
                ps.setInt(1, 7);
                ps.setBigDecimal(2, new BigDecimal("1.50"));
                ps.setString(3, "gen");
                check("inserted", ps.executeUpdate(), 1);
                try (ResultSet keys = ps.getGeneratedKeys()) {
                    check("a key came back", keys.next(), true);
                    generated = keys.getLong(1);
                }
            }
            check("stored key", column(c, "SELECT order_id FROM t_order WHERE user_id = ?", 7), List.of(Long.toString(generated)));

            step("rows over both shards");
            try (PreparedStatement ps = c.prepareStatement(
                    "INSERT INTO t_order (order_id, user_id, amount, status) VALUES (?, ?, ?, ?)")) {
                for (int i = 0; i < 4; i++) {
                    ps.setLong(1, 100 + i);
                    ps.setInt(2, 1 + i);
                    ps.setBigDecimal(3, new BigDecimal((i + 1) + ".00"));
                    ps.setString(4, i % 2 == 0 ? "a" : "b");
                    check("inserted", ps.executeUpdate(), 1);
                }
            }
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO t_region (id, name) VALUES (?, ?)")) {
                ps.setInt(1, 1);
                ps.setString(2, "north");
                ps.executeUpdate();
            }

            step("point, scatter, aggregate selects");
            check("point", column(c, "SELECT status FROM t_order WHERE user_id = ? AND order_id = ?", 2, 101L), List.of("b"));
            check("scatter", column(c, "SELECT order_id FROM t_order WHERE order_id BETWEEN ? AND ? ORDER BY order_id DESC", 100, 199),
                List.of("103", "102", "101", "100"));
            check("aggregates", column(c, "SELECT COUNT(*), SUM(amount), MAX(order_id) FROM t_order WHERE order_id BETWEEN ? AND ?", 100, 199),
                List.of("4|10.00|103"));
            check("group by", column(c, "SELECT status, COUNT(*) FROM t_order WHERE order_id BETWEEN 100 AND 199 GROUP BY status ORDER BY status"),
                List.of("a|2", "b|2"));
            check("broadcast", column(c, "SELECT name FROM t_region"), List.of("north"));

            step("transaction over both shards");
            try (Connection tx = connect()) {
                tx.setAutoCommit(false);
                String insert = "INSERT INTO t_order (order_id, user_id, amount, status) VALUES (?, ?, 1, 'tx')";
                try (PreparedStatement ps = tx.prepareStatement(insert)) {
                    ps.setLong(1, 200); ps.setInt(2, 1); ps.executeUpdate();
                    ps.setLong(1, 201); ps.setInt(2, 2); ps.executeUpdate();
                }
                tx.rollback();
                check("after rollback", column(c, "SELECT COUNT(*) FROM t_order WHERE status = 'tx'"), List.of("0"));
                try (PreparedStatement ps = tx.prepareStatement(insert)) {
                    ps.setLong(1, 200); ps.setInt(2, 1); ps.executeUpdate();
                    ps.setLong(1, 201); ps.setInt(2, 2); ps.executeUpdate();
                }
                check("before commit", column(c, "SELECT COUNT(*) FROM t_order WHERE status = 'tx'"), List.of("0"));
                tx.commit();
                check("after commit", column(c, "SELECT COUNT(*) FROM t_order WHERE status = 'tx'"), List.of("2"));
            }

            step("error then recovery");
            try (PreparedStatement ps = c.prepareStatement(
                    "INSERT INTO t_order (order_id, user_id, amount, status) VALUES (?, ?, 1, 'dup')")) {
                ps.setLong(1, 100);
                ps.setInt(2, 1);
                ps.executeUpdate();
                check("a duplicate key was refused", "accepted", "refused");
            } catch (SQLException e) {
                check("error number", e.getErrorCode(), 1062);
            }
            check("after the error", column(c, "SELECT COUNT(*) FROM t_order WHERE order_id = ?", 100L), List.of("1"));
        }
    }
}
