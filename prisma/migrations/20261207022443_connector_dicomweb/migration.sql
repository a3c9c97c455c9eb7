-- CreateEnum
CREATE TYPE "HttpAuthType" AS ENUM ('NONE', 'BASIC', 'BEARER', 'OAUTH2');

-- AlterTable
ALTER TABLE "Connector" ADD COLUMN     "webAuthType" "HttpAuthType" NOT NULL DEFAULT 'NONE',
ADD COLUMN     "webBaseUrl" TEXT,
ADD COLUMN     "webConnectTimeoutMs" INTEGER NOT NULL DEFAULT 10000,
ADD COLUMN     "webFuzzyMatching" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "webHeaders" JSONB NOT NULL DEFAULT '{}',
ADD COLUMN     "webIncludeField" BOOLEAN NOT NULL DEFAULT true,
ADD COLUMN     "webQidoRoot" TEXT NOT NULL DEFAULT '',
ADD COLUMN     "webReadTimeoutMs" INTEGER NOT NULL DEFAULT 60000,
ADD COLUMN     "webScope" TEXT,
ADD COLUMN     "webSecret" TEXT,
ADD COLUMN     "webTlsAllowAnyHost" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "webTlsCa" TEXT,
ADD COLUMN     "webTlsTrustAll" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "webTokenUrl" TEXT,
ADD COLUMN     "webTransferSyntax" TEXT NOT NULL DEFAULT '*',
ADD COLUMN     "webUsername" TEXT,
ADD COLUMN     "webWadoRoot" TEXT NOT NULL DEFAULT '',
ADD COLUMN     "webWadoUriRoot" TEXT NOT NULL DEFAULT '';

