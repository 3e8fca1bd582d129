/**
 * What verifying needs from DNS: the TXT strings at a name (a key record at
 * selector._domainkey.domain). The caller passes its resolver in (src/dns's Resolver fits),
 * so src/dkim imports nothing from src/dns, whose checks use DKIM's key parser. A failed
 * look-up rejects; its message is shown as the temperror's reason.
 */
export interface KeyLookup {
  txt(name: string): Promise<{ records: string[] }>;
}
