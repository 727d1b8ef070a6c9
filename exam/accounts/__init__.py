"""Users, organisations (assessment bodies), memberships and roles; sign-in and registration."""
