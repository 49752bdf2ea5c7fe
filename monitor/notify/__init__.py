"""Alert delivery: channels (group robots, e-mail, SMS, webhooks) and the outbox sender."""
