/**
 * The table of well-known causes behind refusals: data only, read by `causes.ts`. Each row
 * says what it matches (codes, and the wordings servers really send, each with the provider
 * or MTA it was seen from), what it means for the sender, where to look the problem up and
 * get it removed, and the document its facts come from (`source`).
 *
 * Wordings are matched in lower case, with runs of white space as one space. Sources of
 * the wordings: the providers' own error pages, and the real bounces collected by the
 * Sisimai project (github.com/sisimai/set-of-emails); the explanations are ours.
 */

export interface Cause {
  id: string;
  /** What happened, in one line. */
  title: string;
  /** What to do about it. */
  advice: string;
  /** Where to check the listing or the policy. */
  lookup?: string;
  /** Where to ask for removal. */
  delist?: string;
  /** Where this row's facts come from. */
  source: string;
}

/** A wording a server sends (lower case), and who was seen sending it. */
export type Wording = readonly [wording: string, seenAt: string];

export interface CauseRow extends Cause {
  /** Enhanced codes ("5.7.26") or basic codes ("450") the reply must carry; none: any code. */
  codes?: string[];
  /** Codes that name this cause by themselves, whatever the text says. */
  codesAlone?: string[];
  /** The reply text must match this, or one of `seen` (case-insensitive). */
  text?: RegExp;
  seen?: readonly Wording[];
  /** Rows of one group say the same thing at different precision: only the first match is shown. */
  group?: string;
  /** A broad row: shown only when no other row matches. */
  fallback?: boolean;
}

const SPAMHAUS_FAQ = 'https://www.spamhaus.org/faqs/dnsbl-usage/';
const SPAMHAUS_CHECK = 'https://check.spamhaus.org/';
const GMAIL = 'https://support.google.com/a/answer/3726730';
const MICROSOFT_NDR =
  'https://learn.microsoft.com/en-us/exchange/mail-flow-best-practices/non-delivery-reports-in-exchange-online/non-delivery-reports-in-exchange-online';

/** Most specific first: several rows may match one reply, and all that match are shown (broad rows only alone). */
export const CAUSE_ROWS: CauseRow[] = [
  // DNS blocklists (DNSBLs): the refusal names the list the receiver asked.
  {
    id: 'spamhaus-pbl',
    group: 'spamhaus',
    text: /spamhaus.{0,80}\bpbl\b|\bpbl\b.{0,80}spamhaus|pbl\.spamhaus\.org/i,
    title:
      'your sending IP is on the Spamhaus PBL (Policy Block List): a range its owner says should not send mail directly, such as dynamic or residential addresses',
    advice:
      'send through your provider’s submission server (port 587 with AUTH); if this IP really is a mail server, remove it from the PBL yourself',
    lookup: SPAMHAUS_CHECK,
    delist: SPAMHAUS_CHECK,
    source: SPAMHAUS_FAQ,
  },
  {
    id: 'spamhaus-xbl',
    group: 'spamhaus',
    text: /spamhaus.{0,80}\b(xbl|css|cbl)\b|\b(xbl|css)\b.{0,80}spamhaus|xbl\.spamhaus\.org/i,
    title:
      'your sending IP is on the Spamhaus XBL/CSS: it was seen sending spam or acting as an infected or hijacked host',
    advice: 'find and stop what sent it (a compromised account, a bot, an open proxy), then request delisting',
    lookup: SPAMHAUS_CHECK,
    delist: SPAMHAUS_CHECK,
    source: SPAMHAUS_FAQ,
  },
  {
    id: 'spamhaus-sbl',
    group: 'spamhaus',
    text: /spamhaus.{0,80}\bsbl\b|\bsbl\b.{0,80}spamhaus|sbl\.spamhaus\.org/i,
    title: 'your sending IP is on the Spamhaus SBL: a listing made by hand for spam sources or spam support',
    advice:
      'look up the SBL record (it says why), fix the cause, and ask Spamhaus to remove it; often your hosting provider must act',
    lookup: SPAMHAUS_CHECK,
    delist: SPAMHAUS_CHECK,
    source: SPAMHAUS_FAQ,
  },
  {
    id: 'spamhaus-dbl',
    group: 'spamhaus',
    text: /spamhaus.{0,80}\bdbl\b|dbl\.spamhaus\.org/i,
    title: 'a domain in the message is on the Spamhaus DBL (Domain Block List)',
    advice: 'find which domain (sender, links) is listed, clean it up, and request delisting',
    lookup: SPAMHAUS_CHECK,
    delist: SPAMHAUS_CHECK,
    source: SPAMHAUS_FAQ,
  },
  {
    id: 'spamhaus',
    group: 'spamhaus',
    text: /spamhaus|zen\.spamhaus/i,
    title: 'your sending IP is on a Spamhaus blocklist (ZEN combines the SBL, XBL/CSS and PBL)',
    advice: 'look the IP up to see which list and why, fix the cause, and request delisting',
    lookup: SPAMHAUS_CHECK,
    delist: SPAMHAUS_CHECK,
    source: SPAMHAUS_FAQ,
  },
  {
    id: 'spamcop',
    text: /spamcop/i,
    title: 'your sending IP is on the SpamCop blocklist: recipients reported spam from it',
    advice: 'stop what was reported; SpamCop listings expire on their own about 24 hours after the last report',
    lookup: 'https://www.spamcop.net/bl.shtml',
    delist: 'https://www.spamcop.net/bl.shtml',
    source: 'https://www.spamcop.net/fom-serve/cache/297.html',
  },
  {
    id: 'barracuda',
    text: /barracuda ?(reputation|central)|barracudacentral|barracudanetworks\.com\/reputation|\bbrbl\b/i,
    title: 'your sending IP is on the Barracuda Reputation Block List (BRBL)',
    advice:
      'look the IP up and request removal (with the reason fixed); Barracuda appliances at the receiver use this list',
    lookup: 'https://www.barracudacentral.org/lookups',
    delist: 'https://www.barracudacentral.org/rbl/removal-request',
    source: 'https://www.barracudacentral.org/rbl',
  },
  {
    id: 'sorbs',
    text: /\bsorbs\b/i,
    title: 'your sending IP is on a SORBS blocklist',
    advice:
      'SORBS was shut down in 2024: a receiver that still refuses mail over it uses a stale configuration; ask its postmaster to drop the list',
    lookup: 'http://www.sorbs.net/',
    source: 'http://www.sorbs.net/',
  },
  {
    id: 'uceprotect',
    text: /uceprotect/i,
    title: 'your sending IP (level 1) or its whole network or provider (levels 2 and 3) is on an UCEPROTECT blocklist',
    advice:
      'level 1 listings expire 7 days after the last spam; levels 2 and 3 list a provider’s range and need the provider to act',
    lookup: 'https://www.uceprotect.net/en/rblcheck.php',
    delist: 'https://www.uceprotect.net/en/index.php?m=7&s=0',
    source: 'https://www.uceprotect.net/en/index.php?m=3&s=3',
  },
  {
    id: 'proofpoint',
    text: /proofpoint\.com\/dnsbl-lookup|ipcheck\.proofpoint\.com/i,
    seen: [
      [
        'support.proofpoint.com/dnsbl-lookup',
        'Proofpoint-protected receivers (Postfix bounce "554 Blocked - see ...")',
      ],
      ['ipcheck.proofpoint.com', 'Apple iCloud, Proofpoint-protected receivers'],
    ],
    title: 'Proofpoint, which filters mail for the receiving domain, blocks your sending IP by its reputation',
    advice:
      'look the IP up at Proofpoint and use its form there to ask for removal, after fixing what hurt the reputation',
    lookup: 'https://ipcheck.proofpoint.com/',
    delist: 'https://ipcheck.proofpoint.com/',
    source: 'https://ipcheck.proofpoint.com/',
  },
  {
    id: 'cloudmark',
    text: /cloudmark/i,
    seen: [['csi.cloudmark.com/reset-request', 'Orange (OFR006_102 "Client host blocked for spamming issues")']],
    title:
      'your sending IP has a bad reputation with Cloudmark (CSI), which the receiver (Orange, among others) consults',
    advice: 'stop what sent the unwanted mail, then ask Cloudmark to reset the IP’s reputation',
    lookup: 'https://csi.cloudmark.com/reset-request/',
    delist: 'https://csi.cloudmark.com/reset-request/',
    source: 'https://csi.cloudmark.com/reset-request/',
  },

  // Microsoft (Exchange Online, Outlook.com).
  {
    id: 'microsoft-banned-ip',
    codes: [
      '5.7.606',
      '5.7.607',
      '5.7.608',
      '5.7.609',
      '5.7.610',
      '5.7.611',
      '5.7.612',
      '5.7.613',
      '5.7.614',
      '5.7.615',
      '5.7.616',
      '5.7.617',
      '5.7.618',
      '5.7.619',
      '5.7.620',
      '5.7.621',
      '5.7.622',
      '5.7.623',
      '5.7.624',
      '5.7.625',
      '5.7.626',
      '5.7.627',
      '5.7.628',
      '5.7.629',
      '5.7.630',
      '5.7.631',
      '5.7.632',
      '5.7.633',
      '5.7.634',
      '5.7.635',
      '5.7.636',
      '5.7.637',
      '5.7.638',
      '5.7.639',
      '5.7.640',
      '5.7.641',
      '5.7.642',
      '5.7.643',
      '5.7.644',
      '5.7.645',
      '5.7.646',
      '5.7.647',
      '5.7.648',
      '5.7.649',
    ],
    title: 'Microsoft (Exchange Online) has banned your sending IP',
    advice: 'request removal at the delisting portal after fixing what sent the unwanted mail',
    lookup: 'https://sender.office.com/',
    delist: 'https://sender.office.com/',
    source:
      'https://learn.microsoft.com/en-us/exchange/mail-flow-best-practices/non-delivery-reports-in-exchange-online/fix-error-code-5-7-606-through-5-7-649-in-exchange-online',
  },
  {
    id: 'microsoft-708',
    codes: ['5.7.708'],
    title:
      'Microsoft 365 refuses to send this tenant’s mail from its high-risk pool: traffic from this IP is not accepted (often a new tenant or one that sent suspicious mail)',
    advice:
      'add and verify your own domain in the tenant and send from it; if that is done, open a support request with Microsoft',
    source:
      'https://learn.microsoft.com/en-us/exchange/mail-flow-best-practices/non-delivery-reports-in-exchange-online/fix-error-code-5-7-708-in-exchange-online',
  },
  {
    id: 'microsoft-block-list',
    text: /on our block list \(S\d+\)|part of their network is on our block list/i,
    title: 'Outlook.com blocks your sending IP or its network (the S-number names the list)',
    advice:
      'ask for delisting with Outlook.com’s sender support (give the IP and the S-number); join its SNDS to see your IP’s reputation',
    lookup: 'https://sendersupport.olc.protection.outlook.com/snds/',
    delist: 'https://olcsupport.office.com/',
    source: MICROSOFT_NDR,
  },
  {
    id: 'microsoft-rate',
    codes: [
      '4.7.500',
      '4.7.501',
      '4.7.502',
      '4.7.503',
      '4.7.504',
      '4.7.505',
      '4.7.506',
      '4.7.507',
      '4.7.508',
      '4.7.509',
    ],
    title: 'Microsoft is throttling your sending IP (server busy / rate limit)',
    advice: 'keep the message queued and retry later at a lower rate; it clears on its own when the volume drops',
    source: MICROSOFT_NDR,
  },

  // Gmail.
  {
    id: 'gmail-dmarc',
    group: 'auth',
    codes: ['5.7.26'],
    title:
      'the message failed authentication: Gmail requires SPF or DKIM to pass, and aligned with the From: domain when it has a DMARC policy',
    advice:
      'sign with DKIM for the From: domain and list the sending IP in its SPF record; `smtpkit mx-lookup DOMAIN --checks` shows the records',
    source: GMAIL,
  },
  {
    id: 'dmarc',
    group: 'auth',
    text: /dmarc/i,
    title:
      'the message failed the From: domain’s DMARC policy: neither SPF nor DKIM passed in alignment with the From: domain',
    advice:
      'sign with DKIM as the From: domain (or a subdomain of it) and allow the sending IP in that domain’s SPF; check with `smtpkit mx-lookup DOMAIN --checks`',
    source: 'https://www.rfc-editor.org/rfc/rfc7489',
  },
  {
    id: 'gmail-unauthenticated',
    group: 'auth',
    codes: ['5.7.1', '5.7.27', '4.7.27', '4.7.26'],
    text: /unauthenticated|not authenticated|authentication (checks|information|results)|authenticate with/i,
    title: 'the sender is unauthenticated: neither SPF nor DKIM passed for the sending domain',
    advice: 'publish SPF that allows this IP and sign with DKIM; Gmail and Yahoo require it of every sender since 2024',
    source: 'https://support.google.com/a/answer/81126',
  },
  {
    id: 'reverse-dns',
    group: 'reverse-dns',
    codesAlone: ['5.7.25', '4.7.25'],
    text: /\bptr\b|reverse dns|reverse lookup|\brdns\b/i,
    seen: [
      ['does not have a ptr record', 'Gmail (550 5.7.25, 421 4.7.0)'],
      ['cannot find your hostname', 'Postfix reject_unknown_client_hostname, Yahoo'],
      ['cannot find your reverse hostname', 'Postfix reject_unknown_reverse_client_hostname'],
      ['ip name lookup failed', 'Sendmail'],
      ['fix reverse dns for', 'Exim (cPanel)'],
      ['missing reverse dns', 'Exim'],
      ['bad dns ptr resource record', 'GMX, web.de, mail.com'],
      ['mismatches client ip', 'Outlook.com (Hotmail) "domain [...] mismatches client ip"'],
      ['reverse dns for this ip failed', 'GoDaddy (IB108)'],
      ['unresolvable relay host name', 'Postfix-based receivers'],
      ['generic dns ptr', 'German providers ("dynamic ip or generic dns ptr-records")'],
    ],
    title: 'the sending IP has no reverse DNS (PTR) name, or that name does not resolve back to the same IP',
    advice:
      'ask whoever owns the IP (your hosting provider) for a PTR record naming the server, with an A/AAAA record of that name pointing back; many receivers also want the name to match your EHLO',
    source: 'https://support.google.com/a/answer/3726730',
  },
  {
    id: 'not-rfc5322',
    seen: [
      ['not rfc 5322 compliant', 'Gmail (550 5.7.1 "... There are multiple Subject headers")'],
      ['rfcmessagenoncompliant', 'Gmail help link'],
      ['multiple addresses in from: header', 'Gmail'],
      ['missing a valid', 'Gmail ("Messages missing a valid Message-ID header" / "address in the From: header")'],
      ['duplicate header', 'Amazon SES ("Transaction failed: Duplicate header \'DKIM-Signature\'")'],
      ['mail message is malformed', 'Gmail (554 5.6.0)'],
      ['improper use of 8-bit data in message header', 'Sendmail (550 5.6.9)'],
      ['improperly-formatted binary content', 'Microsoft (550 5.6.0)'],
    ],
    title:
      'the message breaks the message format (RFC 5322): a header that may appear once appears twice (Subject, From, DKIM-Signature as Amazon SES counts it), a From: with several or no addresses, no Message-ID, or raw 8-bit bytes in a header',
    advice:
      'fix the program that builds the message, not the server: one Subject and one From (with one address), a Message-ID, encoded non-ASCII headers; a second DKIM-Signature often comes from signing twice (in the app and again at the relay)',
    source: 'https://www.rfc-editor.org/rfc/rfc5322#section-3.6',
  },
  {
    id: 'virus',
    // Not "virus" alone: "X-Virus-Scanned: ..." headers are in every returned message.
    text: /\bvirus(es)? (found|detected)|\b(contains?|containing|with|has) (a |an )?(prohibited )?virus|\binfected\b|\bmalware\b/i,
    seen: [
      ['virus detected', 'Postfix content filters, Mimecast'],
      ['infected', 'Amavis ("Reject, id=... - INFECTED: name")'],
      ['contains a virus', 'Exim with ClamAV'],
      ['prohibited virus or spam content', 'Sendmail'],
      ['content presents a potential security issue', 'Gmail (552 5.7.0, dangerous attachments)'],
      ['potentially executable attachment', 'Sendmail/milter attachment filters'],
    ],
    title:
      'the receiver’s scanner found a virus or malware in the message, or an attachment type it blocks as dangerous',
    advice:
      'scan the sending machine and the attachment; send executables, scripts and macro documents as a link, not an attachment; the text often names the signature found',
    source: 'https://www.rfc-editor.org/rfc/rfc3463#section-3.8',
  },
  {
    id: 'spam-content',
    seen: [
      ['likely unsolicited mail', 'Gmail (550 5.7.1)'],
      ['appears to be unsolicited', 'generic content filters'],
      ['nature of the content', 'Gmail (421 4.7.0 "... or the links within")'],
      ['- spam', 'Amavis ("Reject, id=... - SPAM")'],
      ['scored as spam', 'SpamAssassin behind Postfix ("scored as spam with a probability of ...")'],
      ['spam points', 'Exim with SpamAssassin ("This message scored N spam points")'],
      ['spam score', 'SpamAssassin, Rspamd, Exim'],
      ['message content rejected', 'Barracuda ("..., UBE, id=..."), Sendmail, Amazon SES'],
      ['flagged as spam', 'Zoho'],
      ['suspicion of spam', 'Yandex'],
      ['spam message rejected', 'Mail.ru, Rspamd'],
      ['rejected as spam', 'Cisco IronPort content filters'],
      ['spam content', 'Proofpoint'],
      ['spam classification', 'Google Groups'],
      ['detected as spam', 'cPanel/Exim'],
      ['classified as spam', 'generic content filters'],
      ['looks like spam', 'qmail-scanner, SpamAssassin'],
      ['identified as spam', 'generic content filters'],
      ['considered spam', 'generic content filters'],
      ['high probability of spam', 'generic content filters'],
      ['spam-like', 'SendGrid, generic content filters'],
      ['blocked by spamassassin', 'SpamAssassin'],
      ['content filter', 'generic content filters'],
      ['blacklisted url', 'Exim with URIBL ("REJECTED - Blacklisted URL in message")'],
      ['uribl', 'URIBL users (a link in the message is on a URL blocklist)'],
    ],
    title: 'the receiver’s content filter judged the message to be spam: its spam score was over the receiver’s limit',
    advice:
      'look at what the filter sees: the From/Reply-To domains, links (to listed domains or shorteners), a text part beside the HTML, and authentication (SPF, DKIM, DMARC); a mail-tester service shows a score before you send again',
    source: 'https://www.rfc-editor.org/rfc/rfc3463#section-3.8',
  },
  {
    id: 'rate-limit',
    seen: [
      ['unusual rate of', 'Gmail (421 4.7.0, 4.7.28)'],
      ['receiving mail too quickly', 'Gmail, Yahoo (450 4.2.1)'],
      ['receiving mail at a rate that', 'Gmail (450 4.2.1, 550 5.2.1)'],
      ['rate limited', 'Gmail, Outlook.com (451 4.7.650), Comcast'],
      ['rate limit exceeded', 'Sendmail, Postfix ("Connection rate limit exceeded")'],
      ['too many connections', 'Postfix anvil, Orange, AT&T, Microsoft'],
      ['too many concurrent', 'Exim, Microsoft'],
      ['concurrent server connections', 'Microsoft 365 (421 4.3.2)'],
      ['trop de connexions', 'Orange, La Poste'],
      ['too much mail from', 'Postfix anvil ("Error: too much mail from")'],
      ['unexpected volume', 'Yahoo (421 4.7.0 [TSS04])'],
      ['excessive volume', 'Apple iCloud'],
      ['please try again slower', 'Postfix policy servers'],
      ['frequency limited', 'QQ Mail (Tencent)'],
      ['ratelimit', 'Mail.ru, generic'],
      ['throttl', 'Comcast ("421 4.1.0 Throttled - try again later"), Amazon SES ("Throttling failure")'],
      [
        'too many sessions',
        'Comcast ("421 Too many sessions opened"), Sendmail ("Too many SMTP sessions for this host")',
      ],
      ['too many recipients this hour', 'GoDaddy'],
      ['max emails per hour', 'cPanel'],
    ],
    title:
      'rate limiting: the receiver takes mail (or connections) from this IP or sender more slowly than it is being sent',
    advice:
      'keep the mail queued and retry later (your MTA does this); open fewer connections at once, slow down, spread the sending, and watch the sending reputation (e.g. Google Postmaster Tools)',
    source: 'https://support.google.com/a/answer/3726730',
  },

  // Authentication failures named in the text (any receiver).
  {
    id: 'spf',
    group: 'spf',
    codes: ['5.7.23', '4.7.24', '5.7.24'],
    title: 'SPF failed: the sender’s domain does not list this IP as allowed to send its mail',
    advice: 'add the sending IP (or its provider’s include:) to the SPF record of the MAIL FROM domain',
    source: 'https://www.rfc-editor.org/rfc/rfc7372',
  },
  {
    id: 'spf-text',
    group: 'spf',
    text: /\bspf\b/i,
    title: 'an SPF check failed or could not be done for the sender’s domain',
    advice: 'check the SPF record of the MAIL FROM domain: it must allow this IP and stay within 10 DNS lookups',
    source: 'https://www.rfc-editor.org/rfc/rfc7208',
  },
  {
    id: 'dkim',
    codes: ['5.7.20', '5.7.21', '5.7.22'],
    text: /dkim|signature/i,
    title:
      'DKIM failed: the message has no valid signature the receiver accepts (missing, broken by a change in transit, or the key is not in DNS)',
    advice:
      'sign outgoing mail with DKIM, publish the key at SELECTOR._domainkey.DOMAIN, and make sure nothing rewrites the signed headers or body',
    source: 'https://www.rfc-editor.org/rfc/rfc7372',
  },
  {
    id: 'relay-denied',
    text: /\brelay(ing)? (access )?(denied|not (permitted|allowed)|refused|prohibited)/i,
    seen: [
      ['relay access denied', 'Postfix (554 5.7.1)'],
      ['relaying denied', 'Sendmail, Yahoo'],
      ['relay not permitted', 'Exim'],
      ['unable to relay', 'Exchange (550 5.7.1, 550 5.7.54)'],
      ['not permitted to relay', 'Exchange, Microsoft 365'],
      ['not allowed to relay', 'generic MTAs'],
      ['list of allowed rcpthosts', 'qmail (553 "that domain isn\'t in my list of allowed rcpthosts")'],
      ['open relay not allowed', 'Mimecast (451)'],
      ['mail relay denied', 'Google Workspace SMTP relay (550 5.7.0)'],
      ['invalid credentials for relay', 'Google Workspace SMTP relay (550 5.7.1)'],
      ['not configured to relay', 'Postfix-fronted receivers'],
      ['non-local e-mail address', 'MailEnable'],
      ["we don't handle mail for", 'generic MTAs'],
      ['we do not relay', 'Exim, generic'],
      ['no relaying', 'Postfix-based receivers ("Recipient address rejected: No relaying")'],
      ['insecure mail relay', 'Sendmail 5 ("550 Insecure Mail Relay")'],
    ],
    title:
      'relaying refused: this server delivers only for its own domains unless you log in, and the recipient is not one of them (or you are not logged in)',
    advice:
      'log in (AUTH, usually on port 587 with STARTTLS) to your own provider’s submission server, or send to the recipient’s own MX; check that the recipient domain is spelled right',
    source: 'https://www.rfc-editor.org/rfc/rfc5321#section-3.3',
  },
  {
    id: 'host-unknown',
    codesAlone: ['5.1.2', '4.1.2'],
    seen: [
      ['host or domain name not found', 'Postfix ("Name service error for name=... Host not found")'],
      ['domain name not found', 'Gmail DNS errors ("Domain name not found: ...")'],
      ['domain not found', 'Postfix ("Recipient address rejected: Domain not found"), Gmail DNS errors'],
      ['host unknown', 'Sendmail'],
      ['unknown host', 'generic MTAs'],
      ['no such domain', 'Courier, Exim'],
      ['unrouteable address', 'Exim'],
      ['unroutable address', 'generic MTAs'],
      ["couldn't find any host", 'qmail ("Sorry, I couldn\'t find any host named ...")'],
      ['domain of sender address', 'Sendmail (553 5.1.8 "Domain of sender address ... does not exist")'],
      ['domain does not exist', 'generic MTAs'],
      ['domain must exist', 'generic MTAs ("Sender domain must exist")'],
      ['domain is not reachable', 'Outlook.com (554)'],
      ['invalid domain', 'Amazon SES (550 5.4.4)'],
      ['nxdomain', 'Gmail DNS errors'],
      ['unresolvable rfc.5321 from', 'Yahoo, Mimecast (451, the sender’s domain)'],
      ['name or service not known', 'generic MTAs'],
      ['indicated no smtp service', 'Exim ("an MX or SRV record indicated no SMTP service": a null MX)'],
      ['returned null mx', 'Gmail ("doesn\'t receive email according to the administrator: returned Null MX")'],
    ],
    title:
      'a domain in the envelope does not exist in DNS or has no usable mail server (no MX and no address): the recipient’s domain, or, when the text says “sender”, your own',
    advice:
      'check the domain for typos; `smtpkit mx-lookup DOMAIN` shows what DNS answers; if it is the sender’s domain, give it MX/A records so it can receive bounces',
    source: 'https://www.rfc-editor.org/rfc/rfc3463#section-3.2',
  },
  {
    id: 'mailbox-disabled',
    seen: [
      ['account that you tried to reach is disabled', 'Gmail (550 5.2.1)'],
      ['account that you tried to reach is inactive', 'Gmail (550 5.2.1)'],
      ['disabled or discontinued', 'Yahoo ("This account has been disabled or discontinued")'],
      ['account is blocked', 'Orange ("The recipient account is blocked", LPN007_426)'],
      ['archived recipient', 'La Poste (LPN007_420)'],
      ['user is terminated', 'Mail.ru'],
      ['mailbox is frozen', 'i.ua'],
      ['disabled recipient', 'Sendmail (525 5.7.13)'],
      ['user suspended', '163.com'],
      ['has been suspended', 'generic providers'],
      ['currently suspended', 'AT&T/BellSouth ("550 [suspend] Mailbox currently suspended"), generic'],
      ['mailbox disabled', 'generic MTAs ("Mailbox disabled for this recipient")'],
      ['mailbox is disabled', 'generic MTAs'],
      ['account is disabled', 'Mail.ru, generic'],
      ['account has been disabled', 'generic providers'],
      ['inactive account', 'generic providers'],
      ['deactivated mailbox', 'QQ Mail'],
      ['temporary locked', 'Postfix-based receivers ("User ... temporary locked")'],
      ['account is locked', 'vpopmail'],
      ['no longer accepts mail', 'generic providers'],
      ['inbounds disabled', 'Mimecast ("Account inbounds disabled": the whole service)'],
    ],
    title:
      'the recipient’s mailbox (or the receiving service) exists but is suspended or disabled: closed by the provider, inactive, blocked, or archived',
    advice:
      'the address takes no mail for now, maybe never again: reach the person another way; remove it from lists if the refusal is permanent (5xx)',
    source: 'https://www.rfc-editor.org/rfc/rfc3463#section-3.3',
  },
  {
    id: 'system-full',
    codesAlone: ['4.3.1', '5.3.1'],
    seen: [
      ['mail system full', 'Sendmail'],
      ['insufficient system storage', 'Postfix (452 4.3.1)'],
      ['insufficient system resources', 'Exchange back pressure (452 4.3.1)'],
      ['insufficient disk space', 'Sendmail (452 4.4.5)'],
      ['no space left on device', 'generic MTAs'],
    ],
    title: 'the receiving server itself is out of storage (the whole mail system, not one mailbox)',
    advice:
      'nothing to fix on your side: a 4xx is retried by your MTA; if it lasts, tell the receiver’s postmaster another way',
    source: 'https://www.rfc-editor.org/rfc/rfc3463#section-3.4',
  },

  // Everyday refusals.
  {
    id: 'greylisting',
    group: 'greylisting',
    text: /gr[ae]y ?list/i,
    seen: [['greylisted, see http://postgrey', 'Postfix with Postgrey']],
    title: 'greylisting: the receiver delays senders it has not seen before',
    advice: 'nothing to fix: a real MTA retries after a few minutes and then gets through; a script must retry too',
    source: 'https://www.rfc-editor.org/rfc/rfc6647',
  },
  {
    // The usual codes with a bare "try again later": most often greylisting, but a rate limit or
    // a busy server says the same, so this only speaks when nothing more precise does.
    id: 'greylisting',
    group: 'greylisting',
    fallback: true,
    codes: ['4.2.0', '4.7.1', '450', '451'],
    text: /try again later|retry later|please try again|come back later/i,
    title: 'probably greylisting: the receiver delays senders it has not seen before',
    advice: 'nothing to fix: a real MTA retries after a few minutes and then gets through; a script must retry too',
    source: 'https://www.rfc-editor.org/rfc/rfc6647',
  },
  {
    id: 'mailbox-full',
    group: 'mailbox-full',
    codes: ['4.2.2', '5.2.2'],
    title: 'the recipient’s mailbox is full (over quota)',
    advice:
      'the recipient must make room; a 4.2.2 is retried by your MTA, a 5.2.2 means give up and tell them another way',
    source: 'https://www.rfc-editor.org/rfc/rfc3463',
  },
  {
    id: 'mailbox-full-text',
    group: 'mailbox-full',
    text: /mailbox (is )?full|over ?quota|quota exceeded|insufficient (storage|space)|out of storage/i,
    seen: [
      ['user is over quota', 'Apple iCloud (552 5.2.2)'],
      ['is over quota', 'Gmail (452 4.2.2)'],
      ['out of storage space', 'Gmail (452 4.2.2, 552 5.2.2)'],
      ['mailbox full', 'Sendmail, Exchange (STOREDRV.Deliver)'],
      ['disk quota exceeded', 'qmail, Postfix local delivery'],
      ['mailbox size limit exceeded', 'Yandex, Zoho'],
      ['recipient overquota', 'Orange (OFR_417)'],
      ['boite du destinataire pleine', 'Orange'],
      ['over the allowed quota', 'qmail/vpopmail ("The users mailfolder is over the allowed quota")'],
    ],
    title: 'the recipient’s mailbox is full (over quota)',
    advice: 'the recipient must make room; a temporary (4xx) refusal is retried by your MTA',
    source: 'https://www.rfc-editor.org/rfc/rfc3463',
  },
  {
    id: 'user-unknown',
    group: 'user-unknown',
    codes: ['5.1.1', '4.1.1'],
    title: 'the recipient does not exist: the part before the @ is unknown at that server',
    advice:
      'check the spelling of the address; a 5.1.1 from a big provider means the account does not exist (or was deleted): remove it from lists',
    source: 'https://www.rfc-editor.org/rfc/rfc3463',
  },
  {
    id: 'user-unknown-text',
    group: 'user-unknown',
    text: /user unknown|no such user|unknown user|recipient not found|address rejected: user/i,
    seen: [
      ['user does not exist', 'Zoho, Apple iCloud'],
      ['account that you tried to reach does not exist', 'Gmail (550 5.1.1)'],
      ['address does not exist', 'Facebook, generic'],
      ['mailbox does not exist', 'Amazon SES'],
      ['recipientnotfound', 'Microsoft 365 (RESOLVER.ADR.RecipientNotFound)'],
      ['recipnotfound', 'Exchange (RESOLVER.ADR.RecipNotFound)'],
      ['user not found', 'Mail.ru, Apple iCloud'],
      ['invalid recipient', 'Mimecast, Orange'],
      ['mailbox not found', 'Yahoo ("552 1 Requested mail action aborted, mailbox not found")'],
      ["doesn't have a", 'Yahoo ("This user doesn\'t have a yahoo.com account")'],
      ['no mailbox here by that name', 'qmail'],
      ['not our customer', 'Comcast'],
      ['recipient address rejected: access denied', 'Microsoft 365 directory-based edge blocking (550 5.4.1)'],
      ['unknown or illegal alias', 'Apple iCloud'],
      ['is no longer valid', 'Yahoo'],
      ['unknown recipient', 'Exchange, generic'],
      ['no such recipient', 'generic MTAs'],
      ['invalid address', 'Zoho ("Invalid Address, ERROR_CODE :550"), Mimecast (501)'],
    ],
    title: 'the recipient does not exist at that server',
    advice: 'check the spelling of the address',
    source: 'https://www.rfc-editor.org/rfc/rfc5321#section-4.2.2',
  },
  {
    id: 'policy',
    fallback: true,
    text: /\bpolic(y|ies)\b/i,
    seen: [
      ['not accepted for policy reasons', 'Yahoo (554 5.7.9, [PH01])'],
      ['denied by policy', 'Postfix'],
      ['policy violation', 'Postfix, Zoho (554 5.7.7)'],
      ['local policy', 'Apple iCloud ([CS01]), generic'],
      ['security policies', 'Mimecast (554)'],
      ['policy restrictions', 'GMX, web.de'],
      ['anti-spoofing policy', 'Cisco IronPort, Mimecast'],
      ['blocked senders', 'Mimecast'],
      ['envelope blocked', 'Mimecast'],
      ['administrative prohibition', 'Exim (default ACL refusal)'],
      ['does not allow external forwarding', 'Microsoft 365 (550 5.7.520)'],
      ['organizational settings', 'Microsoft 365'],
    ],
    title:
      'the receiver’s policy refused it: a rule its administrator set (blocked sender or domain, spoofing rule, forbidden forwarding, a content or attachment rule), not a technical fault',
    advice:
      'the text or the receiver’s postmaster page says which rule; if the mail is legitimate, ask the recipient (or their postmaster) to allow your sender or domain',
    source: 'https://www.rfc-editor.org/rfc/rfc3463#section-3.8',
  },
  {
    id: 'dnsbl',
    fallback: true,
    text: /\b(dnsbl|rbl|block ?list(ed)?|black ?list(ed)?)\b/i,
    title: 'your sending IP is on a DNS blocklist the receiver uses',
    advice: 'the text usually names the list: look the IP up there, fix the cause, and request delisting',
    seen: [
      ['blocked using', 'Postfix reject_rbl_client ("Client host rejected: blocked using LIST")'],
      ['black listed', 'GMX ("IP address is black listed")'],
      ['blacklisted by recipient', 'Sendmail'],
      ['dnsbl:', 'AT&T ("DNSBL:RBL 521< IP >_is_blocked")'],
    ],
    source: 'https://www.rfc-editor.org/rfc/rfc5782',
  },
  {
    id: 'ip-reputation',
    fallback: true,
    text: /\breputation\b/i,
    seen: [
      ['poor reputation', 'Cisco IronPort (SenderBase/Talos reputation)'],
      ['low reputation', 'Gmail ("very low reputation of the sending IP address")'],
      ['block for spam', 'Comcast (BL000000)'],
      ['blocked for abuse', 'AT&T (att.net/blocks)'],
      ['blocked for spamming', 'Orange'],
      ['bloquee pour incident de spam', 'Orange'],
      ['access denied, banned', 'Microsoft'],
    ],
    title:
      'the receiver blocks your sending IP for its reputation (spam or abuse seen from it), by its own list rather than a public DNS blocklist',
    advice:
      'stop what sent the unwanted mail, then use the receiver’s postmaster page (the text usually links it) to ask for the block to be lifted',
    source: 'https://www.rfc-editor.org/rfc/rfc3463#section-3.8',
  },
];
