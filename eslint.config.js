// typescript-eslint with type information over the core and the modules; run by `npm test`
// (test/lint.test.ts). Import cycles are errors (type-only imports are not followed).
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'src/config/parser.generated.js', 'scripts/**', 'test/**'] },
  {
    files: ['src/**/*.ts', 'modules/**/*.ts'],
    extends: [...tseslint.configs.recommendedTypeChecked],
    plugins: { 'import-x': importX },
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      'import-x/no-cycle': 'error',
      // script values, DB cells and JSON-RPC params are stringified on purpose, Kamailio-style
      '@typescript-eslint/no-base-to-string': 'off',
      // AST node kinds are distinct interfaces even when they add no member
      '@typescript-eslint/no-empty-object-type': ['error', { allowInterfaces: 'with-single-extends' }],
      // interface methods stay async for callers even when one implementation needs no await
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
);
