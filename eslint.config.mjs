// typescript-eslint's type-checked rules, for the bugs they catch: promises
// left floating or handed to what expects a plain callback, awaits of what is
// no promise, objects turned into '[object Object]', `any` leaking into typed
// code. Formatting is Prettier's (.prettierrc.json); `npm run check` runs both.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'bench/', 'scripts/', '*.config.*'] },
  {
    files: ['src/**/*.ts', 'test/**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { project: './tsconfig.test.json', tsconfigRootDir: import.meta.dirname } },
    rules: {
      // An async function without an await is how an interface's method says it may wait; no bug in that.
      '@typescript-eslint/require-await': 'off',
      // A leading underscore names what is left out on purpose (a destructured field dropped, a parameter unused).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    // Tests read JSON a command printed, and the engine's inspect output, as any: the assertions are their types.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
);
