// mailauth 4.7 ships no types for its internal modules; only what the cross-check tests call.
declare module 'mailauth/lib/spf/index.js' {
  export function spf(options: {
    sender: string;
    ip: string;
    helo: string;
    mta: string;
    resolver: (name: string, type: string) => Promise<unknown>;
  }): Promise<{ status: { result: string; comment?: string } }>;
}
declare module 'mailauth/lib/dmarc/index.js' {
  export function dmarc(options: {
    headerFrom: string;
    spfDomains: unknown[];
    dkimDomains: unknown[];
    resolver: (name: string, type: string) => Promise<unknown>;
  }): Promise<false | { p?: string; status: { result: string } }>;
}
declare module 'mailauth' {
  type Resolver = (name: string, type: string) => Promise<unknown>;
  interface Seal {
    signingDomain: string;
    selector: string;
    privateKey: string | Buffer;
  }
  export function authenticate(
    message: Buffer | string,
    options: {
      ip?: string;
      helo?: string;
      sender?: string;
      mta?: string;
      resolver?: Resolver;
      seal?: Seal;
      disableBimi?: boolean;
      trustReceived?: boolean;
    },
  ): Promise<{
    dkim: { results: Array<{ signingDomain: string; selector: string; status: { result: string; comment?: string } }> };
    spf: false | { status: { result: string }; domain: string };
    dmarc: false | { status: { result: string; comment?: string }; policy?: string; p?: string };
    arc: false | { status: { result: string; comment?: string }; i: number; authResults: string };
    headers: string;
  }>;
  export function sealMessage(
    message: Buffer | string,
    seal: Seal & { authResults: string; cv: string; i?: number },
  ): Promise<Buffer>;
}
