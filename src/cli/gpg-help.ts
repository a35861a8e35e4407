/**
 * The help of the GPG flag groups (gpg-options.ts), apart so `vouch sign
 * --help` and `vouch verify --help` show it without loading OpenPGP.
 */
export const GPG_SIGN_HELP = `GPG simple signing (containers/image's signatures, as skopeo copy --sign-by makes them):
      --gpg-key FINGERPRINT|KEYFILE
                              sign with this key: a secret key file (binary or armored, as
                              gpg --export-secret-keys writes it) signs with vouch's own
                              OpenPGP code; otherwise a fingerprint of a key in gpg's keyring
                              ($GNUPGHOME) signs through \`gpg --sign\`, as podman and skopeo do
      --sign-by KEY           the same as --gpg-key (skopeo's name)
  A key file's passphrase comes as --key's password does (--password-file, $VOUCH_PASSWORD,
  $COSIGN_PASSWORD, the terminal). For a key in gpg's keyring only --password-file or those
  variables give gpg a passphrase; otherwise gpg-agent asks for it or knows it.`;

export const GPG_VERIFY_HELP = `GPG simple signing (containers/image's signatures, as podman, CRI-O and skopeo verify them):
      --gpg-key KEYRING       trusted OpenPGP public keys: a keyring file (binary, as in
                              pubring.gpg or gpg --export, or armored); repeat for several.
                              Verified with vouch's own OpenPGP code, never gpg`;
