// Splits a VPC CIDR block into equal public and private subnets.
/**
 * Splits a VPC CIDR block into equal subnets: the first `count` for public
 * subnets, the next `count` for private ones. Each subnet is 4 bits longer
 * than the VPC prefix (a /16 gives /20s), which leaves room for 16 subnets.
 */
export function subnetCidrs(vpcCidr: string, azCount: number): { public: string[]; private: string[] } {
    const [address, prefixText] = vpcCidr.split("/");
    const vpcPrefix = Number(prefixText);
    const subnetPrefix = vpcPrefix + 4;
    if (subnetPrefix > 28) throw new Error(`${vpcCidr} is too small to split into ${2 * azCount} subnets; use a /24 or larger block`);
    if (2 * azCount > 16) throw new Error(`${azCount} AZs need ${2 * azCount} subnets; at most 8 AZs fit`);
    const base = address.split(".").reduce((acc, octet) => acc * 256 + Number(octet), 0);
    const size = 2 ** (32 - subnetPrefix);
    const block = (index: number) => `${toDotted(base + index * size)}/${subnetPrefix}`;
    return {
        public: Array.from({ length: azCount }, (_, i) => block(i)),
        private: Array.from({ length: azCount }, (_, i) => block(azCount + i)),
    };
}

function toDotted(value: number): string {
    return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}
