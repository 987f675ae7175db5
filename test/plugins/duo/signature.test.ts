// Duo request signing against the official test vectors (duo_api_nodejs tests/duo_sig.js, as
// quoted in the protocol reference §1.3).
import t from 'tap';
import { authorization, canonicalParams, canonicalRequest, signature } from '../../../src/plugins/duo/signature.js';

const request = {
  date: 'Tue, 21 Aug 2012 17:29:18 -0000',
  method: 'POST',
  host: 'test.duosecurity.com',
  path: '/test/v1',
  params: { realname: 'First Last', username: 'root' },
};

t.test('v2 canonical request, HMAC-SHA512 signature and header', async (t) => {
  t.equal(canonicalRequest(request), 'Tue, 21 Aug 2012 17:29:18 -0000\nPOST\ntest.duosecurity.com\n/test/v1\nrealname=First%20Last&username=root');
  t.equal(signature('test_skey', request), '042a30c682bd836fc5ba467891a956eaa10091ca0f73a7fb396aefd56a3529e56932dea427a67213af664ba6841689ff2336b7a373766ea5ab7ab9fe2638226b');
  t.equal(
    authorization('test_ikey', 'test_skey', request),
    'Basic dGVzdF9pa2V5OjA0MmEzMGM2ODJiZDgzNmZjNWJhNDY3ODkxYTk1NmVhYTEwMDkxY2EwZjczYTdmYjM5NmFlZmQ1NmEzNTI5ZTU2OTMyZGVhNDI3YTY3MjEzYWY2NjRiYTY4NDE2ODlmZjIzMzZiN2EzNzM3NjZlYTVhYjdhYjlmZTI2MzgyMjZi',
  );
  t.equal(signature('test_skey', request, 'sha1'), '7db13501cda6278f27987468405fe8be61b5e3e3', 'the older SHA-1 form (computed, not official)');
  t.equal(canonicalRequest({ ...request, method: 'post', host: 'TEST.duosecurity.com' }), canonicalRequest(request), 'method upper-cased, host lower-cased');
});

t.test('canonical parameters', async (t) => {
  t.equal(
    canonicalParams({
      digits: '0123456789',
      letters: 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ',
      punctuation: '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~',
      whitespace: '\t\n\x0b\x0c\r ',
    }),
    'digits=0123456789&letters=abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ&punctuation=%21%22%23%24%25%26%27%28%29%2A%2B%2C-.%2F%3A%3B%3C%3D%3E%3F%40%5B%5C%5D%5E_%60%7B%7C%7D~&whitespace=%09%0A%0B%0C%0D%20',
  );
  t.equal(canonicalParams({ foo_bar: '2', foo: '1' }), 'foo=1&foo_bar=2', 'sorted by key, a common prefix first');
  t.equal(canonicalParams({}), '');
  t.equal(canonicalParams({ 'ü': 'ÿ €' }), '%C3%BC=%C3%BF%20%E2%82%AC', 'UTF-8 bytes, upper-case hex');
});
