"""Certificate numbering, signing, PDF and QR, revocation and reissue, public verification."""
