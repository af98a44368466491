/** Who asks: a key's user over SSH, a token's over HTTPS, or the admin on the host. */
export interface Caller {
  user: string;
  admin: boolean;
  via: 'ssh' | 'host' | 'https';
  fingerprint?: string;
  address?: string;
}
