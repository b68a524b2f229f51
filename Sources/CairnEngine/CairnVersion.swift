/// The program's version, recorded in every snapshot.
public enum CairnVersion {
    public static let string = "cairn 0.2.0"
}
