// Tests of the subnet splitter.
import * as assert from "assert";
import { subnetCidrs } from "../components/subnetting";

describe("subnetCidrs", () => {
    it("splits a /16 into /20s, public first", () => {
        assert.deepStrictEqual(subnetCidrs("10.0.0.0/16", 3), {
            public: ["10.0.0.0/20", "10.0.16.0/20", "10.0.32.0/20"],
            private: ["10.0.48.0/20", "10.0.64.0/20", "10.0.80.0/20"],
        });
    });

    it("splits a /24 into /28s", () => {
        assert.deepStrictEqual(subnetCidrs("192.168.1.0/24", 2), {
            public: ["192.168.1.0/28", "192.168.1.16/28"],
            private: ["192.168.1.32/28", "192.168.1.48/28"],
        });
    });

    it("refuses a block too small to split", () => {
        assert.throws(() => subnetCidrs("10.0.0.0/25", 2), /too small/);
    });
});
