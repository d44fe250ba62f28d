import base from '../eslint.config.js';
import globals from 'globals';
export default [
  ...base.map((c) =>
    c.languageOptions?.parserOptions?.project
      ? { ...c, languageOptions: { ...c.languageOptions, parserOptions: { ...c.languageOptions.parserOptions, project: [...c.languageOptions.parserOptions.project, './web/tsconfig.json'] } } }
      : c,
  ),
  { files: ['web/src/**'], languageOptions: { globals: globals.browser } },
];
