/** @type {import('next').NextConfig} */
const nextConfig = {
  // Server-only packages with Node APIs or WASM/worker files are loaded from node_modules at run time.
  serverExternalPackages: ['dcmjs', 'dcmjs-dimse', 'exceljs', 'bullmq', 'ioredis', 'pg', '@prisma/adapter-pg', 'tsx'],
  poweredByHeader: false,
  // The build checks the app's own code; `npm run typecheck` (part of `npm test`) checks everything.
  typescript: { tsconfigPath: 'tsconfig.build.json' },
  async headers() {
    return [
      {
        source: '/:path*',
        headers: [
          { key: 'X-Content-Type-Options', value: 'nosniff' },
          { key: 'Referrer-Policy', value: 'same-origin' },
          { key: 'X-Frame-Options', value: 'DENY' },
        ],
      },
    ];
  },
};

export default nextConfig;
