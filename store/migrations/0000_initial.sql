CREATE SEQUENCE "public"."resource_version_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1;--> statement-breakpoint
CREATE TABLE "api_tokens" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"prefix" text NOT NULL,
	"hash" text NOT NULL,
	"scopes" jsonb NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone,
	"revoked_at" timestamp with time zone,
	"last_used_at" timestamp with time zone,
	CONSTRAINT "api_tokens_hash_unique" UNIQUE("hash")
);
--> statement-breakpoint
CREATE TABLE "audit_log" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"actor" text NOT NULL,
	"token_id" text,
	"verb" text NOT NULL,
	"kind" text NOT NULL,
	"namespace" text DEFAULT '' NOT NULL,
	"name" text NOT NULL,
	"generation" integer,
	"resource_version" bigint,
	"dry_run" boolean DEFAULT false NOT NULL,
	"outcome" text NOT NULL,
	"message" text
);
--> statement-breakpoint
CREATE TABLE "resource_changes" (
	"resource_version" bigint PRIMARY KEY NOT NULL,
	"type" text NOT NULL,
	"kind" text NOT NULL,
	"namespace" text NOT NULL,
	"name" text NOT NULL,
	"object" jsonb NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "resources" (
	"uid" text PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"namespace" text DEFAULT '' NOT NULL,
	"name" text NOT NULL,
	"resource_version" bigint NOT NULL,
	"generation" integer DEFAULT 1 NOT NULL,
	"metadata" jsonb NOT NULL,
	"spec" jsonb,
	"status" jsonb,
	"body" jsonb,
	"created_at" timestamp with time zone NOT NULL,
	"deletion_timestamp" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "sealed_values" (
	"owner_uid" text NOT NULL,
	"key" text NOT NULL,
	"ciphertext" text NOT NULL,
	"value_hash" text NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "sealed_values_owner_uid_key_pk" PRIMARY KEY("owner_uid","key")
);
--> statement-breakpoint
CREATE INDEX "audit_log_at" ON "audit_log" USING btree ("at");--> statement-breakpoint
CREATE INDEX "resource_changes_kind" ON "resource_changes" USING btree ("kind","resource_version");--> statement-breakpoint
CREATE UNIQUE INDEX "resources_identity" ON "resources" USING btree ("kind","namespace","name");--> statement-breakpoint
CREATE INDEX "resources_kind_rv" ON "resources" USING btree ("kind","resource_version");