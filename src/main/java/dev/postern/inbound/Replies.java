package dev.postern.inbound;

import dev.postern.recipients.Verdict;
import dev.postern.smtp.Mailbox;
import dev.postern.smtp.Reply;

/** The fixed replies the server sends, in one place so that codes and enhanced codes stay consistent. */
final class Replies {
    private Replies() {}

    static final Reply OK = Reply.of(250, "2.0.0", "Ok");
    static final Reply SENDER_OK = Reply.of(250, "2.1.0", "Sender ok");
    static final Reply RECIPIENT_OK = Reply.of(250, "2.1.5", "Recipient ok");
    static final Reply START_DATA = Reply.of(354, null, "End data with <CR><LF>.<CR><LF>");
    static final Reply START_TLS = Reply.of(220, "2.0.0", "Ready to start TLS");
    static final Reply VRFY = Reply.of(252, "2.5.0", "Cannot VRFY user, but will accept message and attempt delivery");
    static final Reply HELP = Reply.of(214, "2.0.0", "See RFC 5321; commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS");

    static final Reply UNKNOWN_COMMAND = Reply.of(500, "5.5.1", "Unrecognized command");
    static final Reply LINE_TOO_LONG = Reply.of(500, "5.5.2", "Line too long");
    static final Reply BARE_LINE_ENDING = Reply.of(500, "5.5.2", "Bare CR or LF in command; lines must end with CRLF");
    static final Reply NOT_IMPLEMENTED = Reply.of(502, "5.5.1", "Command not implemented");
    static final Reply BAD_SEQUENCE_HELO = Reply.of(503, "5.5.1", "Send EHLO or HELO first");
    static final Reply BAD_SEQUENCE_MAIL = Reply.of(503, "5.5.1", "Send MAIL first");
    static final Reply BAD_SEQUENCE_NESTED_MAIL = Reply.of(503, "5.5.1", "Sender already given");
    static final Reply BAD_SEQUENCE_RCPT = Reply.of(503, "5.5.1", "Send RCPT first");
    static final Reply NO_VALID_RECIPIENTS = Reply.of(554, "5.5.1", "No valid recipients");
    static final Reply ALREADY_TLS = Reply.of(503, "5.5.1", "TLS already active");
    static final Reply BDAT_MIX = Reply.of(503, "5.5.1", "DATA not allowed after BDAT in the same transaction");
    static final Reply SYNTAX_EHLO = Reply.of(501, "5.5.4", "Syntax: EHLO hostname");
    static final Reply SYNTAX_NO_ARGUMENT = Reply.of(501, "5.5.4", "Syntax error: no parameters allowed");
    static final Reply SYNTAX_BDAT = Reply.of(501, "5.5.4", "Syntax: BDAT size [LAST]");
    static final Reply BAD_BODY = Reply.of(501, "5.5.4", "BODY must be 7BIT or 8BITMIME");
    static final Reply TLS_REQUIRED = Reply.of(530, "5.7.0", "Must issue a STARTTLS command first");
    static final Reply RELAY_DENIED = Reply.of(554, "5.7.1", "Relay access denied");
    static final Reply ROUTING_TRICK = Reply.of(554, "5.7.1", "Source routes, %-hacks and quoted @ are not relayed");
    static final Reply TOO_BIG = Reply.of(552, "5.3.4", "Message size exceeds fixed maximum message size");
    static final Reply TOO_MANY_RECIPIENTS = Reply.of(452, "4.5.3", "Too many recipients");
    static final Reply UTF8_NEEDS_SMTPUTF8 = Reply.of(553, "5.6.7", "Non-ASCII address requires SMTPUTF8");
    static final Reply SMUGGLING = Reply.of(554, "5.6.0",
            "Message refused: bare CR or LF in message data (lines must end with CRLF)");
    static final Reply DISK_FULL = Reply.of(452, "4.3.1", "Insufficient system storage");
    static final Reply LOCAL_ERROR = Reply.of(451, "4.3.0", "Local error in processing; try again later");
    static final Reply TOO_MANY_ERRORS = Reply.of(421, "4.7.0", "Too many errors; closing connection");
    static final Reply TOO_MANY_CONNECTIONS = Reply.of(421, "4.7.0", "Too many connections; try again later");
    static final Reply TIMEOUT = Reply.of(421, "4.4.2", "Timeout exceeded; closing connection");
    static final Reply SESSION_TOO_LONG = Reply.of(421, "4.4.2", "Session too long; closing connection");
    /** Too slow while other connections wait for a turn (stress_timeout). */
    static final Reply STRESS_TIMEOUT = Reply.of(421, "4.4.2", "Timeout exceeded while others wait; closing connection");
    /** The gateway stops (SIGTERM): the client should come back later. */
    static Reply shuttingDown(String hostname) {
        return Reply.of(421, "4.3.2", hostname + " shutting down");
    }

    static final Reply TLS_FAILED = Reply.of(454, "4.7.0", "TLS not available due to temporary reason");

    /**
     * The refusal of a recipient that validation did not accept (Postfix's wording), or null to accept it. What a next
     * hop said is logged, not passed on: it names internal hosts.
     */
    static Reply forRecipient(Verdict verdict, Mailbox rcpt) {
        return switch (verdict) {
            case Verdict.Accepted a -> null;
            case Verdict.Unknown u ->
                    Reply.of(550, "5.1.1", "<" + rcpt + ">: Recipient address rejected: User unknown");
            case Verdict.Refused r ->
                    Reply.of(550, "5.1.1", "<" + rcpt + ">: Recipient address rejected: User unknown");
            case Verdict.Unverified u -> Reply.of(450, "4.1.1", "<" + rcpt
                    + ">: Recipient address rejected: unverified address: the next hop cannot confirm it now");
        };
    }
}
