// mailauth 4.7 ships no types for its internal modules; only what the cross-check tests call.
declare module 'mailauth/lib/spf/index.js' {
  export function spf(options: { sender: string; ip: string; helo: string; mta: string; resolver: (name: string, type: string) => Promise<unknown> }): Promise<{ status: { result: string; comment?: string } }>;
}
declare module 'mailauth/lib/dmarc/index.js' {
  export function dmarc(options: {
    headerFrom: string;
    spfDomains: unknown[];
    dkimDomains: unknown[];
    resolver: (name: string, type: string) => Promise<unknown>;
  }): Promise<false | { p?: string; status: { result: string } }>;
}
