CREATE TABLE "deployment_logs" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"deployment_id" text NOT NULL,
	"step" text NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"line" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "deployments" (
	"id" text PRIMARY KEY NOT NULL,
	"service_uid" text NOT NULL,
	"namespace" text NOT NULL,
	"service" text NOT NULL,
	"revision" integer NOT NULL,
	"generation" integer NOT NULL,
	"phase" text NOT NULL,
	"trigger" text NOT NULL,
	"actor" text NOT NULL,
	"server" text NOT NULL,
	"source_commit" text,
	"frozen" jsonb NOT NULL,
	"spec_hash" text NOT NULL,
	"rollback_of" integer,
	"steps" jsonb NOT NULL,
	"reason" text,
	"message" text,
	"cancel_requested" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"deadline" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE INDEX "deployment_logs_deployment" ON "deployment_logs" USING btree ("deployment_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "deployments_service_revision" ON "deployments" USING btree ("service_uid","revision");--> statement-breakpoint
CREATE INDEX "deployments_phase" ON "deployments" USING btree ("phase");--> statement-breakpoint
CREATE INDEX "deployments_service" ON "deployments" USING btree ("namespace","service");