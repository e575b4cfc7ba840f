package conn;

/** Implements neither Source nor Sink. */
public class NotAConnector {}
