// @peculiar/x509, ready to use: its services resolve through tsyringe (reflect-metadata) and it
// needs a WebCrypto provider. Every PKI file that parses certificates imports it from here, so the
// set-up runs before the first parse, whichever file is loaded first.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export { x509 };
