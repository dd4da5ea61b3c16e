pipeline {
    agent any
    stages {
        stage('build') {
            steps {
                parallel one: { echo '1' }, two: 'not a closure'  // <-- parallel-branch
            }
        }
    }
}
