/**
 * `docker trust inspect` output, byte for byte: the repository of docker/cli's
 * own tests (internal/test/notary/client.go GetLoadedNotaryRepository: tags
 * blue by alice, green by the targets key only, red by alice and bob) against
 * its golden files, https://github.com/docker/cli/tree/v28.2.2/cli/command/trust/testdata.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { prettyTrust, REPO_ADMIN, type TrustInspection, trustInspectJson } from './inspect.ts';

const hex = (text: string) => Buffer.from(text).toString('hex');

const loaded = (name: string): TrustInspection => ({
  Name: name,
  SignedTags: [
    { SignedTag: 'blue', Digest: hex('blue-digest'), Signers: ['alice'] },
    { SignedTag: 'green', Digest: hex('green-digest'), Signers: [REPO_ADMIN] },
    { SignedTag: 'red', Digest: hex('red-digest'), Signers: ['alice', 'bob'] },
  ],
  Signers: [
    { Name: 'bob', Keys: [{ ID: 'B' }] },
    { Name: 'alice', Keys: [{ ID: 'A' }] },
  ],
  AdministrativeKeys: [
    { Name: 'Root', Keys: [{ ID: 'rootID' }] },
    { Name: 'Repository', Keys: [{ ID: 'targetsID' }] },
  ],
});

const adminKeys = [
  '        "AdministrativeKeys": [',
  '            {',
  '                "Name": "Root",',
  '                "Keys": [',
  '                    {',
  '                        "ID": "rootID"',
  '                    }',
  '                ]',
  '            },',
  '            {',
  '                "Name": "Repository",',
  '                "Keys": [',
  '                    {',
  '                        "ID": "targetsID"',
  '                    }',
  '                ]',
  '            }',
  '        ]',
];

describe('trustInspectJson', () => {
  test('trust-inspect-full-repo-with-signers.golden', () => {
    const golden = [
      '[',
      '    {',
      '        "Name": "signed-repo",',
      '        "SignedTags": [',
      '            {',
      '                "SignedTag": "blue",',
      '                "Digest": "626c75652d646967657374",',
      '                "Signers": [',
      '                    "alice"',
      '                ]',
      '            },',
      '            {',
      '                "SignedTag": "green",',
      '                "Digest": "677265656e2d646967657374",',
      '                "Signers": [',
      '                    "Repo Admin"',
      '                ]',
      '            },',
      '            {',
      '                "SignedTag": "red",',
      '                "Digest": "7265642d646967657374",',
      '                "Signers": [',
      '                    "alice",',
      '                    "bob"',
      '                ]',
      '            }',
      '        ],',
      '        "Signers": [',
      '            {',
      '                "Name": "bob",',
      '                "Keys": [',
      '                    {',
      '                        "ID": "B"',
      '                    }',
      '                ]',
      '            },',
      '            {',
      '                "Name": "alice",',
      '                "Keys": [',
      '                    {',
      '                        "ID": "A"',
      '                    }',
      '                ]',
      '            }',
      '        ],',
      ...adminKeys,
      '    }',
      ']',
      '',
    ].join('\n');
    assert.equal(trustInspectJson([loaded('signed-repo')]), golden);
  });

  test('trust-inspect-empty-repo.golden: no tags, no signers', () => {
    const golden = [
      '[',
      '    {',
      '        "Name": "reg/img:unsigned-tag",',
      '        "SignedTags": [],',
      '        "Signers": [],',
      ...adminKeys,
      '    }',
      ']',
      '',
    ].join('\n');
    const inspection = { ...loaded('reg/img:unsigned-tag'), SignedTags: [], Signers: [] };
    assert.equal(trustInspectJson([inspection]), golden);
  });

  test('trust-inspect-uninitialized.golden: nothing found is []', () => {
    assert.equal(trustInspectJson([]), '[]\n');
  });

  test("strings as Go's json.Marshal escapes them (a tag name is the publisher's to choose)", () => {
    const inspection = {
      ...loaded('r'),
      SignedTags: [{ SignedTag: '<a&b>\u2028', Digest: 'ab', Signers: [REPO_ADMIN] }],
    };
    assert.match(trustInspectJson([inspection]), /"SignedTag": "\\u003ca\\u0026b\\u003e\\u2028",/);
  });
});

describe('prettyTrust', () => {
  test('trust-inspect-pretty-full-repo-with-signers.golden: (Repo Admin) in parentheses', () => {
    const golden =
      '\nSignatures for signed-repo\n\n' +
      'SIGNED TAG   DIGEST                     SIGNERS\n' +
      'blue         626c75652d646967657374     alice\n' +
      'green        677265656e2d646967657374   (Repo Admin)\n' +
      'red          7265642d646967657374       alice, bob\n' +
      '\nList of signers and their keys for signed-repo\n\n' +
      'SIGNER    KEYS\n' +
      'alice     A\n' +
      'bob       B\n' +
      '\nAdministrative keys for signed-repo\n\n' +
      '  Repository Key:\ttargetsID\n' +
      '  Root Key:\trootID\n';
    assert.equal(prettyTrust(loaded('signed-repo')), golden);
    // The table sorts a tag's signers (formatter.go trustTagContext.Signers); JSON does not.
    const walked = loaded('signed-repo');
    const reversed = {
      ...walked,
      SignedTags: walked.SignedTags.map((row) => ({ ...row, Signers: [...row.Signers].reverse() })),
    };
    assert.equal(prettyTrust(reversed), golden);
  });

  test('trust-inspect-pretty-unsigned-tag-with-signers.golden', () => {
    const golden =
      '\nNo signatures for signed-repo:unsigned\n\n' +
      '\nList of signers and their keys for signed-repo:unsigned\n\n' +
      'SIGNER    KEYS\n' +
      'alice     A\n' +
      'bob       B\n' +
      '\nAdministrative keys for signed-repo:unsigned\n\n' +
      '  Repository Key:\ttargetsID\n' +
      '  Root Key:\trootID\n';
    assert.equal(prettyTrust({ ...loaded('signed-repo:unsigned'), SignedTags: [] }), golden);
  });
});
