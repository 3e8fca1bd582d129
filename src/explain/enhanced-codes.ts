/**
 * The IANA "SMTP Enhanced Status Codes" registry (RFC 3463, RFC 5248 and later), each code
 * with the registry's short name and an explanation written for someone debugging mail.
 * Keys are "subject.detail"; the class digit (2, 4, 5) is explained separately.
 */

export const ENHANCED_CLASSES: Record<string, string> = {
  '2': 'success',
  '4': 'a temporary failure: the same message may go through if sent again later',
  '5': 'a permanent failure: sending the same thing again will fail the same way; something must change first',
};

export const ENHANCED_SUBJECTS: Record<string, string> = {
  '0': 'no further detail',
  '1': 'about an address (sender or recipient)',
  '2': 'about the recipient’s mailbox',
  '3': 'about the receiving mail system',
  '4': 'about the network or routing',
  '5': 'about the SMTP conversation itself',
  '6': 'about the message content',
  '7': 'about security or policy',
};

export const ENHANCED_CODES: Record<string, [title: string, explanation: string]> = {
  '0.0': ['Other undefined status', 'The server gives no detail beyond success or failure; read the reply text.'],

  '1.0': ['Other address status', 'Something about an address caused this; the reply text should say which address.'],
  '1.1': [
    'Bad destination mailbox address',
    'The recipient does not exist at this server: the part before the @ is unknown here. Check the spelling, or ask the recipient for the right address.',
  ],
  '1.2': [
    'Bad destination system address',
    'The recipient’s domain (after the @) does not exist or cannot take mail. Check the domain for typos and that it has working MX records.',
  ],
  '1.3': [
    'Bad destination mailbox address syntax',
    'The recipient address is malformed (bad characters, missing <>, spaces, more than one @).',
  ],
  '1.4': [
    'Destination mailbox address ambiguous',
    'The recipient address matches more than one mailbox on the server, so it cannot pick one.',
  ],
  '1.5': ['Destination address valid', 'The recipient address is fine.'],
  '1.6': [
    'Destination mailbox has moved, no forwarding address',
    'The address used to exist but no longer takes mail, and there is no new address to forward to.',
  ],
  '1.7': ['Bad sender’s mailbox address syntax', 'The sender address (MAIL FROM) is malformed.'],
  '1.8': [
    'Bad sender’s system address',
    'The sender’s domain does not exist or cannot receive replies (no MX or A record). Many servers refuse senders whose domain cannot take bounces.',
  ],
  '1.9': [
    'Message relayed to non-compliant mailer',
    'The message was handed on to a system that does not send delivery reports, so no further status will come.',
  ],
  '1.10': [
    'Recipient address has null MX',
    'The recipient’s domain publishes a “null MX” (RFC 7505): it declares that it accepts no mail at all.',
  ],

  '2.0': [
    'Other or undefined mailbox status',
    'The mailbox exists, but something about it stopped the delivery; see the reply text.',
  ],
  '2.1': [
    'Mailbox disabled, not accepting messages',
    'The mailbox exists but is switched off (suspended, or not yet active).',
  ],
  '2.2': ['Mailbox full', 'The recipient is over quota. A 4xx means try later; a 5xx means the server gave up.'],
  '2.3': [
    'Message length exceeds administrative limit',
    'The message is bigger than this mailbox accepts, even if the server as a whole would take it.',
  ],
  '2.4': [
    'Mailing list expansion problem',
    'The recipient is a mailing list that could not be expanded into its members.',
  ],

  '3.0': [
    'Other or undefined mail system status',
    'Something about the receiving system itself caused this; see the reply text.',
  ],
  '3.1': ['Mail system full', 'The receiving server is out of storage.'],
  '3.2': [
    'System not accepting network messages',
    'The server is not taking mail right now (shutting down, overloaded, or configured to refuse).',
  ],
  '3.3': [
    'System not capable of selected features',
    'The message asks for a feature the receiving system does not have.',
  ],
  '3.4': [
    'Message too big for system',
    'The message is larger than the server’s size limit (see SIZE in the EHLO reply). Send less, or split attachments.',
  ],
  '3.5': [
    'System incorrectly configured',
    'The receiving server is misconfigured for this message; this is for its administrator to fix.',
  ],
  '3.6': ['Requested priority was changed', 'The message was accepted, but not with the priority that was asked for.'],

  '4.0': [
    'Other or undefined network or routing status',
    'A network or routing problem somewhere along the way; see the reply text.',
  ],
  '4.1': ['No answer from host', 'A server further along did not answer.'],
  '4.2': ['Bad connection', 'The connection was made but broke or timed out before the transaction finished.'],
  '4.3': ['Directory server failure', 'A lookup service the server depends on (often DNS) failed; usually temporary.'],
  '4.4': ['Unable to route', 'The server found no route for the recipient’s domain (no usable MX or address).'],
  '4.5': ['Mail system congestion', 'The server is congested; try again later.'],
  '4.6': [
    'Routing loop detected',
    'The message has gone around in a loop (too many Received headers, or forwarding that points back).',
  ],
  '4.7': ['Delivery time expired', 'The message was queued too long and has been given up on.'],

  '5.0': ['Other or undefined protocol status', 'A problem in the SMTP conversation that has no more precise code.'],
  '5.1': ['Invalid command', 'The command is unknown here or came out of order (for example RCPT before MAIL).'],
  '5.2': ['Syntax error', 'The server could not parse the command.'],
  '5.3': [
    'Too many recipients',
    'More recipients than the server takes in one transaction; send the rest in another message.',
  ],
  '5.4': ['Invalid command arguments', 'The command is known but one of its parameters is wrong or not supported.'],
  '5.5': ['Wrong protocol version', 'Client and server disagree on the protocol version.'],
  '5.6': ['Authentication exchange line is too long', 'An AUTH response line was longer than the server accepts.'],

  '6.0': ['Other or undefined media error', 'Something about the content made it undeliverable; see the reply text.'],
  '6.1': [
    'Media not supported',
    'The message uses a content type or encoding that the path to the recipient cannot carry.',
  ],
  '6.2': [
    'Conversion required and prohibited',
    'The content would need converting to be delivered, and conversion is not allowed.',
  ],
  '6.3': [
    'Conversion required but not supported',
    'The content would need converting (often 8-bit to 7-bit) and the server cannot do it.',
  ],
  '6.4': ['Conversion with loss performed', 'Delivered, but a conversion on the way lost some data.'],
  '6.5': ['Conversion failed', 'A required conversion of the content failed.'],
  '6.6': ['Message content not available', 'The content to be sent could not be fetched from where it was referenced.'],
  '6.7': [
    'Non-ASCII addresses not permitted for that sender/recipient',
    'An address has non-ASCII (UTF-8) characters and this server does not accept them here (no SMTPUTF8).',
  ],
  '6.8': [
    'UTF-8 string reply is required, but not permitted by the SMTP client',
    'The server would have to answer with UTF-8, but the client did not ask for SMTPUTF8.',
  ],
  '6.9': [
    'UTF-8 header message cannot be transferred to one or more recipients',
    'The message has UTF-8 headers and some recipient’s server cannot take them, so the message was refused.',
  ],
  '6.10': [
    '(deprecated duplicate of X.6.8)',
    'Same as X.6.8: a UTF-8 reply would be needed but the client did not allow it.',
  ],

  '7.0': [
    'Other or undefined security status',
    'A security or policy reason; on many servers this is also the reply that demands STARTTLS or AUTH first.',
  ],
  '7.1': [
    'Delivery not authorized, message refused',
    'Policy says no: relaying refused, sender or client blocked, or a recipient-specific rule. “Relay access denied” means: authenticate, or send only to domains this server handles.',
  ],
  '7.2': ['Mailing list expansion prohibited', 'The sender may not post to this mailing list.'],
  '7.3': [
    'Security conversion required but not possible',
    'The message would need converting between secure-mail formats, which is not possible.',
  ],
  '7.4': [
    'Security features not supported',
    'The message or command asks for a security feature the server does not support.',
  ],
  '7.5': [
    'Cryptographic failure',
    'A system could not verify or decrypt the message (a key or certificate was missing).',
  ],
  '7.6': [
    'Cryptographic algorithm not supported',
    'The message uses a cryptographic algorithm the system does not support.',
  ],
  '7.7': ['Message integrity failure', 'The message was found altered or corrupted in transit.'],
  '7.8': [
    'Authentication credentials invalid',
    'Login failed: wrong username or password (or token). Check both; some providers need an app password.',
  ],
  '7.9': [
    'Authentication mechanism is too weak',
    'The server will not accept this AUTH mechanism for this user; use a stronger one.',
  ],
  '7.10': [
    'Encryption needed',
    'This mechanism may only be used over an encrypted connection: use STARTTLS or implicit TLS first.',
  ],
  '7.11': [
    'Encryption required for requested authentication mechanism',
    'This AUTH mechanism needs TLS: use STARTTLS (or port 465) first.',
  ],
  '7.12': [
    'A password transition is needed',
    'The account must first log in once with a plaintext mechanism (over TLS) so the server can store the password in the needed form.',
  ],
  '7.13': ['User account disabled', 'The account exists but has been disabled by an administrator.'],
  '7.14': [
    'Trust relationship required',
    'The server needs a configured trust relationship with another server for this.',
  ],
  '7.15': ['Priority level is too low', 'The requested priority is below what the server accepts right now.'],
  '7.16': [
    'Message is too big for the specified priority',
    'At this priority the message is too big; raise the priority or send it smaller.',
  ],
  '7.17': [
    'Mailbox owner has changed',
    'The mailbox now belongs to someone else than when the sender last knew it (RRVS).',
  ],
  '7.18': [
    'Domain owner has changed',
    'The recipient’s domain has changed hands since the sender last knew it (RRVS).',
  ],
  '7.19': [
    'RRVS test cannot be completed',
    'The server cannot check the Require-Recipient-Valid-Since condition the sender asked for.',
  ],
  '7.20': [
    'No passing DKIM signature found',
    'The receiver requires a valid DKIM signature and the message had none that passed. Check the sending domain’s DKIM setup.',
  ],
  '7.21': [
    'No acceptable DKIM signature found',
    'The message had passing DKIM signatures, but none from a domain the receiver accepts.',
  ],
  '7.22': [
    'No valid author-matched DKIM signature found',
    'No passing DKIM signature matches the From: domain (a DMARC-style alignment failure).',
  ],
  '7.23': [
    'SPF validation failed',
    'The sending IP is not allowed by the sender domain’s SPF record. Add this server to SPF, or send through an allowed server.',
  ],
  '7.24': ['SPF validation error', 'The SPF check could not complete (DNS error or broken SPF record).'],
  '7.25': [
    'Reverse DNS validation failed',
    'The client IP has no reverse DNS name, or the name does not resolve back to the IP (FCrDNS).',
  ],
  '7.26': [
    'Multiple authentication checks failed',
    'Several checks (SPF, DKIM, DMARC...) failed together; typically a DMARC rejection. Check the sender domain’s SPF and DKIM alignment.',
  ],
  '7.27': [
    'Sender address has null MX',
    'The sender’s domain publishes a null MX, so it could never receive a bounce; the server refuses it as a sender.',
  ],
  '7.28': ['Mail flood detected', 'The message looks like part of a flood of similar messages.'],
  '7.29': ['ARC validation failure', 'The message’s ARC (forwarding authentication) chain did not validate.'],
  '7.30': ['REQUIRETLS support required', 'The message demands REQUIRETLS, but no server on the way offers it.'],
};
