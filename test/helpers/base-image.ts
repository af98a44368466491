/** Made by scripts/base-image.sh: Debian minbase with busybox, imported locally (nothing is pulled). */
export const BASE_IMAGE = 'skiff-test/base:bookworm';

/** Made by scripts/test-images.sh on the base: Debian's nodejs and npm. */
export const NODE_IMAGE = 'skiff-test/node:bookworm';
