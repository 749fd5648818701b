// PostgreSQL's JDBC driver through the proxy: server-side prepared statements, a transaction, an error.
import java.sql.*;

public class JdbcCheck {
    static void expect(boolean ok, String what) {
        if (!ok) throw new AssertionError(what);
    }

    public static void main(String[] args) throws Exception {
        String url = "jdbc:postgresql://" + args[0] + ":" + args[1] + "/" + args[2] + "?prepareThreshold=1&sslmode=disable";
        try (Connection c = DriverManager.getConnection(url, args[3], args[4])) {
            // prepareThreshold=1: from the first execution the driver uses a named server-side statement.
            try (PreparedStatement ps = c.prepareStatement("SELECT ?::int + 1")) {
                for (int i = 0; i < 5; i++) {
                    ps.setInt(1, i);
                    try (ResultSet r = ps.executeQuery()) {
                        expect(r.next() && r.getInt(1) == i + 1, "prepared result " + i);
                    }
                }
            }
            c.setAutoCommit(false);
            try (Statement s = c.createStatement()) {
                s.execute("CREATE TEMP TABLE jd(a int)");
                s.executeUpdate("INSERT INTO jd VALUES (1), (2)");
                try (ResultSet r = s.executeQuery("SELECT count(*) FROM jd")) {
                    expect(r.next() && r.getInt(1) == 2, "rows inside the transaction");
                }
            }
            c.rollback();
            c.setAutoCommit(true);
            String state = null;
            try (Statement s = c.createStatement()) {
                s.executeQuery("SELECT 1/0");
            } catch (SQLException e) {
                state = e.getSQLState();
            }
            expect("22012".equals(state), "sqlstate " + state);
            try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("SELECT 2")) {
                expect(r.next() && r.getInt(1) == 2, "usable after the error");
            }
        }
        System.out.println("jdbc ok");
    }
}
