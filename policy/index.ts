// The CrossGuard policy pack `pulumi preview --policy-pack policy` loads.
import { PolicyPack } from "@pulumi/policy";
import { allPolicies } from "./policies";

// Run with: pulumi preview --policy-pack policy
new PolicyPack("shiftwise", { policies: allPolicies });
