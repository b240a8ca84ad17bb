CREATE TABLE "drift_records" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"service_uid" text NOT NULL,
	"namespace" text NOT NULL,
	"service" text NOT NULL,
	"source" text NOT NULL,
	"path" text NOT NULL,
	"kind" text NOT NULL,
	"expected" jsonb,
	"actual" jsonb,
	"first_seen" timestamp with time zone NOT NULL,
	"last_seen" timestamp with time zone NOT NULL,
	"resolved_at" timestamp with time zone,
	"resolution" text,
	"healed_by" text
);
--> statement-breakpoint
CREATE UNIQUE INDEX "drift_records_open" ON "drift_records" USING btree ("service_uid","source","path") WHERE "drift_records"."resolved_at" is null;--> statement-breakpoint
CREATE INDEX "drift_records_service" ON "drift_records" USING btree ("service_uid","id");--> statement-breakpoint
CREATE INDEX "drift_records_unresolved" ON "drift_records" USING btree ("resolved_at");