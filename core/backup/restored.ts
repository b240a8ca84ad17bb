// What a restore answers (the API's restore route, the CLI's `backup restore`): where it was read
// from and where it was written.

export interface Restored {
  backup: string;
  /** The destination the backup was read from. */
  destination: string;
  /** Where on it: `/b/x.pgdump on server edge`, `s3://bucket/x.pgdump`. */
  location: string;
  /** The Service restored into: the policy's own, or the one the restore named. */
  service: string;
  server: string;
  container: string;
  /** `/data` (a volume's mount), `database shop`, `every database`. */
  path: string;
  /** The database restored into, for a dump of one database. */
  database?: string;
  /** The database did not exist there and was made for the restore. */
  createdDatabase?: boolean;
  sizeBytes: number;
}
