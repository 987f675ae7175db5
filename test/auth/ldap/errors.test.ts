// Reasons for failed attempts (src/auth/ldap/errors.ts); the real failures are in transport.test.ts.
import tap from 'tap';
import { InvalidCredentialsError, TLSNotSupportedError, UnwillingToPerformError } from 'ldapts';
import { failureReason, serversUnavailable } from '../../../src/auth/ldap/errors.js';

const errno = (code: string, message: string): Error => Object.assign(new Error(message), { code });

tap.test('failureReason: network errors by kind, LDAP results by name and diagnostic', async (t) => {
  t.equal(failureReason(errno('ENOTFOUND', 'getaddrinfo ENOTFOUND ldap.example'), 10), 'host name not found');
  t.equal(failureReason(errno('EHOSTUNREACH', 'connect EHOSTUNREACH 10.0.0.1:389'), 10), 'host unreachable');
  t.equal(failureReason(new Error('Socket error. Message type: SearchRequest (0x63)\nread ECONNRESET'), 10), 'connection closed by the server');
  t.equal(failureReason(new Error('BindRequest: Operation timed out'), 7), 'no answer within 7 s');
  t.equal(failureReason(new InvalidCredentialsError(''), 10), 'invalid credentials (49)');
  t.equal(
    failureReason(new InvalidCredentialsError('80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 52e, v4563'), 10),
    'invalid credentials (49): 80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 52e, v4563',
  );
  t.equal(failureReason(new TLSNotSupportedError(''), 10), 'tls not supported (112)');
  t.equal(failureReason(new UnwillingToPerformError('unauthenticated bind (DN with no password) disallowed'), 10), 'unwilling to perform (53): unauthenticated bind (DN with no password) disallowed');
  t.equal(failureReason('a thrown string', 10), 'a thrown string');
  t.equal(failureReason(undefined, 10), 'undefined');
});

tap.test('serversUnavailable: URLs that failed alike share their reason', async (t) => {
  const err = serversUnavailable('corp', [
    { url: 'ldap://a', reason: 'connection refused' },
    { url: 'ldaps://b', reason: 'no answer within 5 s' },
    { url: 'ldap://c', reason: 'connection refused' },
  ]);
  t.equal(err.name, 'LdapUnavailableError');
  t.equal(err.message, 'LDAP server "corp" unavailable: ldap://a, ldap://c: connection refused; ldaps://b: no answer within 5 s');
});
