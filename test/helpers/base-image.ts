/** Made by scripts/base-image.sh: Debian minbase with busybox, imported locally (nothing is pulled). */
export const BASE_IMAGE = 'skiff-test/base:bookworm';

/** Made by scripts/test-images.sh on the base: Debian's nodejs and npm. */
export const NODE_IMAGE = 'skiff-test/node:bookworm';

/** Made by scripts/test-images.sh on the base: Debian's python3 and pip. */
export const PYTHON_IMAGE = 'skiff-test/python:bookworm';

/** Made by scripts/test-images.sh from Debian's postgresql and redis-server, with the official images' interface. */
export const SERVICE_IMAGES = { SKIFF_SERVICE_POSTGRES_IMAGE: 'skiff-test/postgres:15', SKIFF_SERVICE_REDIS_IMAGE: 'skiff-test/redis:7' };
