/**
 * Well-known causes behind refusals, recognised from the reply's codes and text. Data, not
 * code: each row says what it matches, what it means for the sender, where to look the
 * problem up and get it removed, and where we read it (`source`).
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

interface CauseRow extends Cause {
  /** Enhanced codes ("5.7.26") or basic codes ("450") the reply must carry; none: any code. */
  codes?: string[];
  /** The reply text must match (case-insensitive). */
  text?: RegExp;
  /** Rows of one group say the same thing at different precision: only the first match is shown. */
  group?: string;
}

const SPAMHAUS_FAQ = 'https://www.spamhaus.org/faqs/dnsbl-usage/';
const SPAMHAUS_CHECK = 'https://check.spamhaus.org/';
const GMAIL = 'https://support.google.com/a/answer/3726730';
const MICROSOFT_NDR = 'https://learn.microsoft.com/en-us/exchange/mail-flow-best-practices/non-delivery-reports-in-exchange-online/non-delivery-reports-in-exchange-online';

/** Most specific first: several rows may match one reply, and all that match are shown. */
const ROWS: CauseRow[] = [
  // DNS blocklists (DNSBLs): the refusal names the list the receiver asked.
  {
    id: 'spamhaus-pbl',
    group: 'spamhaus',
    text: /spamhaus.{0,80}\bpbl\b|\bpbl\b.{0,80}spamhaus|pbl\.spamhaus\.org/i,
    title: 'your sending IP is on the Spamhaus PBL (Policy Block List): a range its owner says should not send mail directly, such as dynamic or residential addresses',
    advice: 'send through your provider’s submission server (port 587 with AUTH); if this IP really is a mail server, remove it from the PBL yourself',
    lookup: SPAMHAUS_CHECK,
    delist: SPAMHAUS_CHECK,
    source: SPAMHAUS_FAQ,
  },
  {
    id: 'spamhaus-xbl',
    group: 'spamhaus',
    text: /spamhaus.{0,80}\b(xbl|css|cbl)\b|\b(xbl|css)\b.{0,80}spamhaus|xbl\.spamhaus\.org/i,
    title: 'your sending IP is on the Spamhaus XBL/CSS: it was seen sending spam or acting as an infected or hijacked host',
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
    advice: 'look up the SBL record (it says why), fix the cause, and ask Spamhaus to remove it; often your hosting provider must act',
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
    text: /barracuda|\bbrbl\b/i,
    title: 'your sending IP is on the Barracuda Reputation Block List (BRBL)',
    advice: 'look the IP up and request removal (with the reason fixed); Barracuda appliances at the receiver use this list',
    lookup: 'https://www.barracudacentral.org/lookups',
    delist: 'https://www.barracudacentral.org/rbl/removal-request',
    source: 'https://www.barracudacentral.org/rbl',
  },
  {
    id: 'sorbs',
    text: /\bsorbs\b/i,
    title: 'your sending IP is on a SORBS blocklist',
    advice: 'SORBS was shut down in 2024: a receiver that still refuses mail over it uses a stale configuration; ask its postmaster to drop the list',
    lookup: 'http://www.sorbs.net/',
    source: 'http://www.sorbs.net/',
  },
  {
    id: 'uceprotect',
    text: /uceprotect/i,
    title: 'your sending IP (level 1) or its whole network or provider (levels 2 and 3) is on an UCEPROTECT blocklist',
    advice: 'level 1 listings expire 7 days after the last spam; levels 2 and 3 list a provider’s range and need the provider to act',
    lookup: 'https://www.uceprotect.net/en/rblcheck.php',
    delist: 'https://www.uceprotect.net/en/index.php?m=7&s=0',
    source: 'https://www.uceprotect.net/en/index.php?m=3&s=3',
  },
  {
    id: 'dnsbl',
    text: /\b(dnsbl|rbl|block ?list(ed)?|black ?list(ed)?)\b/i,
    title: 'your sending IP is on a DNS blocklist the receiver uses',
    advice: 'the text usually names the list: look the IP up there, fix the cause, and request delisting',
    source: 'https://www.rfc-editor.org/rfc/rfc5782',
  },

  // Microsoft (Exchange Online, Outlook.com).
  {
    id: 'microsoft-banned-ip',
    codes: ['5.7.606', '5.7.607', '5.7.608', '5.7.609', '5.7.610', '5.7.611', '5.7.612', '5.7.613', '5.7.614', '5.7.615', '5.7.616', '5.7.617', '5.7.618', '5.7.619', '5.7.620', '5.7.621', '5.7.622', '5.7.623', '5.7.624', '5.7.625', '5.7.626', '5.7.627', '5.7.628', '5.7.629', '5.7.630', '5.7.631', '5.7.632', '5.7.633', '5.7.634', '5.7.635', '5.7.636', '5.7.637', '5.7.638', '5.7.639', '5.7.640', '5.7.641', '5.7.642', '5.7.643', '5.7.644', '5.7.645', '5.7.646', '5.7.647', '5.7.648', '5.7.649'],
    title: 'Microsoft (Exchange Online) has banned your sending IP',
    advice: 'request removal at the delisting portal after fixing what sent the unwanted mail',
    lookup: 'https://sender.office.com/',
    delist: 'https://sender.office.com/',
    source: 'https://learn.microsoft.com/en-us/exchange/mail-flow-best-practices/non-delivery-reports-in-exchange-online/fix-error-code-5-7-606-through-5-7-649-in-exchange-online',
  },
  {
    id: 'microsoft-708',
    codes: ['5.7.708'],
    title: 'Microsoft 365 refuses to send this tenant’s mail from its high-risk pool: traffic from this IP is not accepted (often a new tenant or one that sent suspicious mail)',
    advice: 'add and verify your own domain in the tenant and send from it; if that is done, open a support request with Microsoft',
    source: 'https://learn.microsoft.com/en-us/exchange/mail-flow-best-practices/non-delivery-reports-in-exchange-online/fix-error-code-5-7-708-in-exchange-online',
  },
  {
    id: 'microsoft-block-list',
    text: /on our block list \(S\d+\)|part of their network is on our block list/i,
    title: 'Outlook.com blocks your sending IP or its network (the S-number names the list)',
    advice: 'ask for delisting with Outlook.com’s sender support (give the IP and the S-number); join its SNDS to see your IP’s reputation',
    lookup: 'https://sendersupport.olc.protection.outlook.com/snds/',
    delist: 'https://olcsupport.office.com/',
    source: MICROSOFT_NDR,
  },
  {
    id: 'microsoft-rate',
    codes: ['4.7.500', '4.7.501', '4.7.502', '4.7.503', '4.7.504', '4.7.505', '4.7.506', '4.7.507', '4.7.508', '4.7.509'],
    title: 'Microsoft is throttling your sending IP (server busy / rate limit)',
    advice: 'keep the message queued and retry later at a lower rate; it clears on its own when the volume drops',
    source: MICROSOFT_NDR,
  },

  // Gmail.
  {
    id: 'gmail-dmarc',
    group: 'auth',
    codes: ['5.7.26'],
    title: 'the message failed authentication: Gmail requires SPF or DKIM to pass, and aligned with the From: domain when it has a DMARC policy',
    advice: 'sign with DKIM for the From: domain and list the sending IP in its SPF record; `smtpkit mx-lookup DOMAIN --checks` shows the records',
    source: GMAIL,
  },
  {
    id: 'dmarc',
    group: 'auth',
    text: /dmarc/i,
    title: 'the message failed the From: domain’s DMARC policy: neither SPF nor DKIM passed in alignment with the From: domain',
    advice: 'sign with DKIM as the From: domain (or a subdomain of it) and allow the sending IP in that domain’s SPF; check with `smtpkit mx-lookup DOMAIN --checks`',
    source: 'https://www.rfc-editor.org/rfc/rfc7489',
  },
  {
    id: 'gmail-unauthenticated',
    group: 'auth',
    codes: ['5.7.1', '5.7.27', '4.7.27', '4.7.26'],
    text: /unauthenticated|not authenticated|authentication/i,
    title: 'the sender is unauthenticated: neither SPF nor DKIM passed for the sending domain',
    advice: 'publish SPF that allows this IP and sign with DKIM; Gmail and Yahoo require it of every sender since 2024',
    source: 'https://support.google.com/a/answer/81126',
  },
  {
    id: 'gmail-ptr',
    codes: ['5.7.25', '4.7.25', '5.7.1', '4.7.23'],
    text: /\bptr\b|reverse dns|reverse lookup/i,
    title: 'the sending IP has no reverse DNS name, or it does not resolve back to the IP',
    advice: 'ask whoever owns the IP (your hosting provider) for a PTR record naming the server, with an A/AAAA record pointing back',
    source: GMAIL,
  },
  {
    id: 'rate-limit',
    codes: ['4.7.0', '4.7.28', '4.2.1', '421', '450', '451'],
    text: /rate|unusual|too (many|quickly|fast)|temporarily (blocked|deferred|rate)|throttl/i,
    title: 'rate limiting: the receiver takes mail from this IP or sender more slowly than it is being sent',
    advice: 'keep the mail queued and retry later (your MTA does this); slow down, spread the sending, and watch the sending reputation (e.g. Google Postmaster Tools)',
    source: GMAIL,
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
    title: 'DKIM failed: the message has no valid signature the receiver accepts (missing, broken by a change in transit, or the key is not in DNS)',
    advice: 'sign outgoing mail with DKIM, publish the key at SELECTOR._domainkey.DOMAIN, and make sure nothing rewrites the signed headers or body',
    source: 'https://www.rfc-editor.org/rfc/rfc7372',
  },

  // Everyday refusals.
  {
    id: 'greylisting',
    group: 'greylisting',
    codes: ['4.2.0', '4.7.1', '450', '451'],
    text: /gr[ae]y ?list|try again later|retry later|please try again|come back later/i,
    title: 'greylisting: the receiver delays senders it has not seen before',
    advice: 'nothing to fix: a real MTA retries after a few minutes and then gets through; a script must retry too',
    source: 'https://www.rfc-editor.org/rfc/rfc6647',
  },
  {
    id: 'greylisting-text',
    group: 'greylisting',
    text: /gr[ae]y ?list/i,
    title: 'greylisting: the receiver delays senders it has not seen before',
    advice: 'nothing to fix: a real MTA retries after a few minutes and then gets through; a script must retry too',
    source: 'https://www.rfc-editor.org/rfc/rfc6647',
  },
  {
    id: 'mailbox-full',
    group: 'mailbox-full',
    codes: ['4.2.2', '5.2.2'],
    title: 'the recipient’s mailbox is full (over quota)',
    advice: 'the recipient must make room; a 4.2.2 is retried by your MTA, a 5.2.2 means give up and tell them another way',
    source: 'https://www.rfc-editor.org/rfc/rfc3463',
  },
  {
    id: 'mailbox-full-text',
    group: 'mailbox-full',
    text: /mailbox (is )?full|over ?quota|quota exceeded|insufficient (storage|space)|out of storage/i,
    title: 'the recipient’s mailbox is full (over quota)',
    advice: 'the recipient must make room; a temporary (4xx) refusal is retried by your MTA',
    source: 'https://www.rfc-editor.org/rfc/rfc3463',
  },
  {
    id: 'user-unknown',
    group: 'user-unknown',
    codes: ['5.1.1', '4.1.1'],
    title: 'the recipient does not exist: the part before the @ is unknown at that server',
    advice: 'check the spelling of the address; a 5.1.1 from a big provider means the account does not exist (or was deleted): remove it from lists',
    source: 'https://www.rfc-editor.org/rfc/rfc3463',
  },
  {
    id: 'user-unknown-text',
    group: 'user-unknown',
    text: /user unknown|no such user|unknown user|does not exist|recipient not found|address rejected: user/i,
    title: 'the recipient does not exist at that server',
    advice: 'check the spelling of the address',
    source: 'https://www.rfc-editor.org/rfc/rfc5321#section-4.2.2',
  },
];

/** The rows matching one reply (or a lone enhanced code), in table order, one per group. */
export function causesFor(code: number | undefined, enhanced: string | null | undefined, text: string): Cause[] {
  const found: Cause[] = [];
  const groups = new Set<string>();
  for (const row of ROWS) {
    if (row.codes && !row.codes.some((c) => c === enhanced || c === String(code))) continue;
    if (row.text && !row.text.test(text)) continue;
    if (!row.codes && !row.text) continue;
    if (row.group && groups.has(row.group)) continue;
    // A specific blocklist already named makes the generic row say nothing new.
    if (row.id === 'dnsbl' && found.some((f) => f.delist || f.lookup)) continue;
    if (row.group) groups.add(row.group);
    const { codes: _c, text: _t, group: _g, ...cause } = row;
    found.push(cause);
  }
  return found;
}

/** For tests and documentation: every row's id and source. */
export const CAUSE_SOURCES: ReadonlyArray<{ id: string; source: string }> = ROWS.map((r) => ({ id: r.id, source: r.source }));
