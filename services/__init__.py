"""The four helpdesk services. Each is a package of its own; none imports another (a contract test
checks it), and all share only the `helpdesk` kernel."""
