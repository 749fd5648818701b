// The release number, shared by --version, the log and the admin console.
public enum PgswiftVersion {
    public static let current = "0.1.0"
    /// The PgBouncer whose console columns and messages pgswift follows.
    static let compatible = "1.25.0"
}
