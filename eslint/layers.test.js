import { describe, it } from 'node:test';
import { join } from 'node:path';
import process from 'node:process';
import { RuleTester } from 'eslint';
import { layersRule } from './layers.js';

RuleTester.describe = describe;
RuleTester.it = it;
RuleTester.itOnly = it.only;

const src = join(process.cwd(), 'src');
const at = (path) => join(src, path);
const tester = new RuleTester({ languageOptions: { ecmaVersion: 2024, sourceType: 'module' } });

tester.run('layers', layersRule, {
  valid: [
    { filename: at('verify/verify.ts'), code: "import { x } from '../registry/http.ts';" },
    { filename: at('verify/verify.ts'), code: "import { x } from './evidence.ts';" },
    { filename: at('cli/commands/verify.ts'), code: "import('../../policy/load.ts');" },
    { filename: at('formats/notary/keys.ts'), code: "import { x } from '../../core/errors.ts';" },
    { filename: at('policy/gather.ts'), code: "export { x } from '../dct/verify-notary.ts';" },
    { filename: at('index.ts'), code: "export * from './cli/main.ts';" },
    { filename: at('verify/verify.ts'), code: "import { request } from 'undici';" },
  ],
  invalid: [
    {
      filename: at('registry/http.ts'),
      code: "import { x } from '../verify/verify.ts';",
      errors: [{ messageId: 'upward' }],
    },
    {
      filename: at('verify/verify.ts'),
      code: "import { x } from '../sign/sign.ts';",
      errors: [{ messageId: 'upward' }],
    },
    {
      filename: at('formats/notary/keys.ts'),
      code: "export * from '../../dct/update.ts';",
      errors: [{ messageId: 'upward' }],
    },
    {
      filename: at('policy/gather.ts'),
      code: "const m = import('../admission/cache.ts');",
      errors: [{ messageId: 'upward' }],
    },
    {
      filename: at('core/errors.ts'),
      code: "import { x } from '../oci/reference.ts';",
      errors: [{ messageId: 'upward' }],
    },
    {
      filename: at('verify/verify.ts'),
      code: "import { x } from '../gpg/verify.ts';",
      errors: [{ messageId: 'unknown' }],
    },
  ],
});
