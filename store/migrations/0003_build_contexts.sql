CREATE TABLE "build_context_chunks" (
	"namespace" text NOT NULL,
	"digest" text NOT NULL,
	"seq" integer NOT NULL,
	"data" "bytea" NOT NULL,
	CONSTRAINT "build_context_chunks_namespace_digest_seq_pk" PRIMARY KEY("namespace","digest","seq")
);
--> statement-breakpoint
CREATE TABLE "build_contexts" (
	"namespace" text NOT NULL,
	"digest" text NOT NULL,
	"size" bigint NOT NULL,
	"chunks" integer NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"last_used_at" timestamp with time zone NOT NULL,
	CONSTRAINT "build_contexts_namespace_digest_pk" PRIMARY KEY("namespace","digest")
);
