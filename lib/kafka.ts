/** The Kafka vocabulary every layer shares: how to reach the brokers and authenticate. */

export type SaslMechanism = "plain" | "scram-sha-256" | "scram-sha-512";

/**
 * How to reach the brokers; the same shape serves the Pulumi program (with the password as a
 * Pulumi input: `KafkaSettings<pulumi.Input<string>>`), the seeder and the CLI.
 */
export interface KafkaSettings<Password = string> {
    brokers: string[];
    tls: boolean;
    sasl?: SaslCredentials<Password>;
}

export interface SaslCredentials<Password = string> {
    mechanism: SaslMechanism;
    username: string;
    password: Password;
}
