/** Made by scripts/base-image.sh: Debian minbase with busybox, imported locally (nothing is pulled). */
export const BASE_IMAGE = 'skiff-test/base:bookworm';
