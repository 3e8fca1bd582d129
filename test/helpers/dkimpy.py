#!/usr/bin/python3
"""Independent DKIM peer for the tests (Debian python3-dkim, dkimpy).

verify KEYS.json < message   -> prints "pass" or "fail <reason>", exit 0/1
sign SELECTOR DOMAIN KEY.pem HEADERS(colon list) CANON ALGORITHM l|- < message -> the signed message
arc-verify KEYS.json < message -> prints the chain's cv (none, pass, fail; ended for a chain marked cv=fail) and the reason
KEYS.json maps "selector._domainkey.domain." (or without the dot) to the TXT record, so no DNS is used.
"""
import json, sys
import dkim

def main():
    cmd = sys.argv[1]
    msg = sys.stdin.buffer.read()
    if cmd == 'verify':
        keys = json.load(open(sys.argv[2]))
        def dnsfunc(name, timeout=5):
            n = name.decode() if isinstance(name, bytes) else name
            rec = keys.get(n.rstrip('.'))
            return rec.encode() if rec else b''
        logs = []
        import logging
        class H(logging.Handler):
            def emit(self, record):
                logs.append(record.getMessage())
        logger = logging.getLogger('dkimpy-test'); logger.addHandler(H()); logger.setLevel(logging.DEBUG)
        d = dkim.DKIM(msg, logger=logger)
        ok = True
        count = 0
        while True:
            try:
                res = d.verify(idx=count, dnsfunc=dnsfunc)
            except dkim.ValidationError as e:
                res = False; logs.append(str(e))
            print(('pass' if res else 'fail ' + ' | '.join(logs[-2:])))
            ok = ok and res
            count += 1
            if count >= len([h for h in d.headers if h[0].lower() == b'dkim-signature']):
                break
        sys.exit(0 if ok and count else 1)
    if cmd == 'arc-verify':
        keys = json.load(open(sys.argv[2]))
        def dnsfunc(name, timeout=5):
            n = name.decode() if isinstance(name, bytes) else name
            rec = keys.get(n.rstrip('.'))
            return rec.encode() if rec else b''
        cv, results, comment = dkim.arc_verify(msg, dnsfunc=dnsfunc)
        # None: dkimpy's word for a chain a sealer already marked cv=fail ("terminated").
        print('ended' if cv is None else cv.decode(), comment)
        return
    if cmd == 'sign':
        sel, dom, keyfile, hdrs, canon, alg, length = sys.argv[2:9]
        key = open(keyfile, 'rb').read()
        if alg == 'ed25519-sha256':
            # dkimpy takes an Ed25519 key as the base64 32-byte seed: the end of the PKCS#8 DER.
            import base64
            der = base64.b64decode(b''.join(l for l in key.splitlines() if not l.startswith(b'-----')))
            key = base64.b64encode(der[-32:])
        c = canon.split('/')
        sig = dkim.sign(msg, sel.encode(), dom.encode(), key, include_headers=[h.encode() for h in hdrs.split(':')], canonicalize=(c[0].encode(), c[1].encode()), signature_algorithm=alg.encode(), length=(length == 'l'))
        sys.stdout.buffer.write(sig + msg)
        return

main()
