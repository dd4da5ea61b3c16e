timeout(time: 5, unit: 'MINUTES') {
    node { echo 'scripted pipelines may nest blocks freely' }
}
