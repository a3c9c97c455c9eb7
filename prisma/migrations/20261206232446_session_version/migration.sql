-- AlterTable
ALTER TABLE "User" ADD COLUMN     "sessionVersion" INTEGER NOT NULL DEFAULT 0;


-- API tokens now expire by default (API_TOKEN_DEFAULT_DAYS, 90): tokens made before without an
-- expiry get the default lifetime from today, so none lives forever and none dies at upgrade.
UPDATE "ApiToken" SET "expiresAt" = now() + interval '90 days' WHERE "expiresAt" IS NULL AND "revokedAt" IS NULL;
